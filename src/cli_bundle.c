/*
 * cli_bundle.c: `mayfly bundle`, trust bundles from the CA's side.
 *
 * A rotation of the roots devices pin is a chain of signed bundles
 * (mayfly-bundle(5)). Here the operator makes one (create), has it signed
 * by enough roots, each a ceremony step of its own with that root's token
 * (sign), checks it (show, verify) and records it for mayflyd to serve
 * (publish); export writes one for firmware builds or as static files.
 *
 * Whether a bundle is good is never decided here: verify and publish load
 * the published version into the device library (libmayfly-verify) and
 * let it apply the new one, exactly as a device holding that version
 * would. The CA adds only what a device cannot know: a bundle may not list
 * a root this CA has no record of, and versions only go up.
 */
#include "mf_build.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "cli.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"
#include "verify/mayfly_verify.h"

/* What the device library says, in the CA's own error codes. */
static int
mf_bundle_mfv_err(int e)
{
	switch (e) {
	case MFV_OK: return MF_OK;
	case MFV_ERR_BUNDLE_VERSION: return MF_ERR_BUNDLE_VERSION;
	case MFV_ERR_BUNDLE_SIGNER: return MF_ERR_BUNDLE_SIGNER;
	case MFV_ERR_BUNDLE_THRESHOLD: return MF_ERR_BUNDLE_THRESHOLD;
	case MFV_ERR_BUNDLE_EXPIRED: return MF_ERR_BUNDLE_EXPIRED;
	case MFV_ERR_BAD_SIGNATURE: case MFV_ERR_UNSUPPORTED_ALG: return MF_ERR_BUNDLE_SIGNATURE;
	case MFV_ERR_BACKEND: return MF_ERR_CRYPTO;
	default: return MF_ERR_BUNDLE_MALFORMED;
	}
}

static void
mf_bundle_hex_sha256(const unsigned char *p, size_t n, char hex[65])
{
	unsigned char md[32];

	if (EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL) == 1)
		mf_hex(md, sizeof(md), hex);
	else
		snprintf(hex, 65, "?");
}

/* ---- what the CA knows about roots ---------------------------------------- */

struct mf_known {
	X509 *cert[32];
	char *name[32];
	size_t n;
};

static int
mf_known_add(const struct mf_ca_rec *r, void *arg)
{
	struct mf_known *k = arg;
	const unsigned char *p = r->der;

	if (strcmp(r->kind, "root") != 0 || k->n == 32)
		return 0;
	if ((k->cert[k->n] = d2i_X509(NULL, &p, (long)r->der_len)) == NULL)
		return MF_ERR_CRYPTO;
	if ((k->name[k->n] = strdup(r->name)) == NULL) {
		X509_free(k->cert[k->n]);
		return MF_ERR_NOMEM;
	}
	k->n++;
	return 0;
}

static void
mf_known_free(struct mf_known *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		X509_free(k->cert[i]);
		free(k->name[i]);
	}
	k->n = 0;
}

/* The name of the recorded root a pin stands for, or NULL. */
static const char *
mf_known_name(const struct mf_known *k, const unsigned char pin[32])
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (mf_bundle_pin_matches(k->cert[i], pin))
			return k->name[i];
	return NULL;
}

/* ---- asking the device library -------------------------------------------- */

/*
 * How a device sees der: one holding the published bundle below `before`
 * (before 0: the newest published), or, when none is published, a device
 * pinning the bundle's own roots that asks for the bundle's own threshold
 * (the factory bundle vouches for itself; this catches a first bundle its
 * roots did not sign). *prev gets the version the device held (0: none).
 */
static int
mf_bundle_device_check(struct mf_cli *c, const struct mf_bundle *b, const unsigned char *der,
    size_t len, uint32_t before, uint32_t *prev, size_t *valid, char *why, size_t wl)
{
	struct mfv_ctx *ctx = NULL;
	struct mfv_buf in = { der, len };
	unsigned char *pd = NULL;
	size_t pl = 0, i, ok = 0;
	int rc, e;

	*prev = 0;
	*valid = 0;
	why[0] = '\0';
	if (b->nsigs == 0) {
		snprintf(why, wl, "the bundle is unsigned");
		return MF_ERR_BUNDLE_THRESHOLD;
	}
	if ((ctx = malloc(sizeof(*ctx))) == NULL)
		return MF_ERR_NOMEM;
	rc = mf_db_bundle_get(c->db, 0, before, &pd, &pl, prev);
	if (rc != MF_OK && rc != MF_ERR_NOTFOUND)
		goto out;
	/* Every signature by a listed or previously pinned root, one at a
	 * time: how many of them the library accepts. */
	for (i = 0; i < b->nroots; i++) {
		mfv_init(ctx);
		mfv_set_time(ctx, (int64_t)time(NULL));
		if (mfv_add_root(ctx, b->roots[i]) == 0 && mfv_bundle_apply(ctx, &in, 1, NULL) == 0)
			ok++;
	}
	mfv_init(ctx);
	mfv_set_time(ctx, (int64_t)time(NULL));
	if (rc == MF_OK) {
		if ((e = mfv_bundle_load(ctx, pd, pl)) != 0) {
			snprintf(why, wl, "published version %u does not load: %s", *prev,
			    mfv_errname(e));
			rc = MF_ERR_DB;
			goto out;
		}
	} else {
		for (i = 0; i < b->nroots; i++)
			mfv_add_root(ctx, b->roots[i]);
	}
	if ((e = mfv_bundle_apply(ctx, &in, 1, NULL)) != 0) {
		rc = mf_bundle_mfv_err(e);
		if (e == MFV_ERR_BUNDLE_VERSION)
			snprintf(why, wl, "version %u is not above version %u, which devices hold",
			    b->version, *prev);
		else
			snprintf(why, wl, "a device holding version %u refuses it: %s (%s)", *prev,
			    mfv_errname(e), mfv_strerror(e));
		goto out;
	}
	if (*prev == 0 && ok < b->threshold) {
		snprintf(why, wl, "a first bundle must be signed by its own threshold of "
		    "roots: %zu of %u", ok, b->threshold);
		rc = MF_ERR_BUNDLE_THRESHOLD;
		goto out;
	}
	*valid = ok;
	rc = MF_OK;
out:
	free(pd);
	free(ctx);
	return rc;
}

/* ---- the steps shared with `mayfly init` ---------------------------------- */

static const struct mf_ca_conf *
mf_cli_root_conf(struct mf_cli *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->cfg->nroots; i++)
		if (strcmp(c->cfg->roots[i].name, name) == 0)
			return &c->cfg->roots[i];
	return NULL;
}

int
mf_cli_bundle_make(struct mf_cli *c, uint32_t version, const char *const *names, size_t n,
    uint32_t threshold, int64_t not_after, struct mf_bundle **out, const char **what)
{
	unsigned char pins[MF_BUNDLE_MAX_ROOTS][32];
	char detail[512], hex[65];
	size_t i, off = 0;
	X509 *cert = NULL;
	int rc;

	*out = NULL;
	if (n == 0 || n > MF_BUNDLE_MAX_ROOTS) {
		*what = "a bundle lists 1 to 8 roots";
		return MF_ERR_INVAL;
	}
	for (i = 0; i < n; i++) {
		const struct mf_ca_conf *rc_ = NULL;

		/* "file:PATH": a root certificate made elsewhere. publish
		 * refuses it until this CA has recorded that root. */
		if (strncmp(names[i], "file:", 5) == 0)
			rc = mf_cert_load(names[i] + 5, &cert);
		else if ((rc_ = mf_cli_root_conf(c, names[i])) == NULL)
			rc = MF_ERR_CA_NOTFOUND;
		else
			rc = mf_cert_load(rc_->cert, &cert);
		if (rc != MF_OK) {
			*what = names[i];
			return rc;
		}
		rc = mf_bundle_pin_cert(cert, pins[i]);
		X509_free(cert);
		cert = NULL;
		if (rc != MF_OK) {
			*what = names[i];
			return rc;
		}
		off += (size_t)snprintf(detail + off, off < sizeof(detail) ? sizeof(detail) - off : 0,
		    "%s%s", i ? "," : "", names[i]);
		if (off >= sizeof(detail))
			off = sizeof(detail) - 1;
	}
	if ((rc = mf_bundle_new(version, (int64_t)time(NULL), not_after, threshold,
	    (const unsigned char (*)[32])pins, n, out)) != MF_OK) {
		*what = "version 1..2147483647, distinct roots, threshold 1..number of roots, "
		    "--not-after in the future";
		return rc;
	}
	mf_bundle_hex_sha256((*out)->tbs, (*out)->tbs_len, hex);
	{
		char line[768];

		snprintf(line, sizeof(line), "bundle-create version=%u roots=%s threshold=%u "
		    "not_after=%lld tbs_sha256=%s", version, detail, threshold,
		    (long long)not_after, hex);
		if ((rc = mf_db_audit_append(c->db, "bundle-create", c->actor, line)) != MF_OK) {
			mf_bundle_free(*out);
			*out = NULL;
			*what = "record in the audit log";
			return rc;
		}
	}
	return MF_OK;
}

int
mf_cli_bundle_sign_root(struct mf_cli *c, struct mf_bundle *b, const char *root,
    const char **what)
{
	const struct mf_ca_conf *rconf;
	unsigned char *pd = NULL;
	struct mf_bundle *prev = NULL;
	size_t pl = 0, i;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char detail[256], hex[65];
	uint32_t latest;
	int rc, useful = 0;

	if ((rconf = mf_cli_root_conf(c, root)) == NULL) {
		*what = root;
		return MF_ERR_CA_NOTFOUND;
	}
	/* A version devices already hold or passed: no ceremony for it. */
	if ((rc = mf_db_bundle_latest(c->db, &latest)) != MF_OK) {
		*what = "read the published bundles";
		return rc;
	}
	if (b->version <= latest) {
		*what = "version already published or passed; make a new one";
		return MF_ERR_BUNDLE_VERSION;
	}
	if ((rc = mf_cli_load_ca(c, rconf, &cert, NULL, what)) != MF_OK)
		return rc;
	/* A signature counts only by a root the devices' current version
	 * pins (or, for the first version, one the bundle lists): refuse to
	 * spend a ceremony on one that would count for nothing. */
	for (i = 0; i < b->nroots; i++)
		useful |= mf_bundle_pin_matches(cert, b->roots[i]);
	if ((rc = mf_db_bundle_get(c->db, 0, b->version, &pd, &pl, NULL)) == MF_OK) {
		useful = 0;
		if ((rc = mf_bundle_parse(pd, pl, &prev)) != MF_OK) {
			*what = "the published version before this one";
			goto out;
		}
		for (i = 0; i < prev->nroots; i++)
			useful |= mf_bundle_pin_matches(cert, prev->roots[i]);
	} else if (rc != MF_ERR_NOTFOUND) {
		*what = "read the published bundles";
		goto out;
	}
	if (!useful) {
		*what = prev != NULL ? "this root is not pinned by the published version before "
		    "this one: its signature would count for nothing" :
		    "this root is not listed by the bundle";
		rc = MF_ERR_BUNDLE_SIGNER;
		goto out;
	}
	/* Only now the token: the checks above need no key. */
	X509_free(cert);
	cert = NULL;
	if ((rc = mf_cli_load_ca(c, rconf, &cert, &key, what)) != MF_OK)
		goto out;
	if ((rc = mf_bundle_sign(b, cert, key)) != MF_OK) {
		*what = rc == MF_ERR_BUNDLE_SIGNED ? root : rconf->key;
		goto out;
	}
	mf_bundle_hex_sha256(b->tbs, b->tbs_len, hex);
	snprintf(detail, sizeof(detail), "bundle-sign version=%u root=%s tbs_sha256=%s",
	    b->version, root, hex);
	if ((rc = mf_db_audit_append(c->db, "bundle-sign", c->actor, detail)) != MF_OK)
		*what = "record in the audit log";
out:
	mf_bundle_free(prev);
	free(pd);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* ---- the static tree: trust/latest, trust/v/N, trust/since/N --------------- */

struct mf_tree {
	const char *dir;
	unsigned char *all;		/* every published bundle, concatenated */
	size_t len;
	size_t *off;			/* where version i starts in all */
	uint32_t *ver;
	size_t n;
	int err;
};

static int
mf_tree_add(uint32_t version, const void *der, size_t len, int64_t published_at, void *arg)
{
	struct mf_tree *t = arg;
	unsigned char *a;
	size_t *o;
	uint32_t *v;

	(void)published_at;
	if ((a = realloc(t->all, t->len + len)) == NULL)
		return MF_ERR_NOMEM;
	t->all = a;
	if ((o = realloc(t->off, (t->n + 1) * sizeof(*o))) == NULL)
		return MF_ERR_NOMEM;
	t->off = o;
	if ((v = realloc(t->ver, (t->n + 1) * sizeof(*v))) == NULL)
		return MF_ERR_NOMEM;
	t->ver = v;
	memcpy(t->all + t->len, der, len);
	t->off[t->n] = t->len;
	t->ver[t->n] = version;
	t->len += len;
	t->n++;
	return 0;
}

static int
mf_tree_file(const char *dir, const char *name, const void *p, size_t n)
{
	char *path = mf_path_join(dir, name);
	int rc;

	if (path == NULL)
		return MF_ERR_NOMEM;
	rc = mf_file_write(path, p, n, 0644, 0);
	free(path);
	return rc;
}

/*
 * Writes DIR/trust/latest, DIR/trust/v/N for every published N, and
 * DIR/trust/since/N for N = 0 and every published N: the same bytes
 * mayflyd answers, for a static web server or a CDN. A device only ever
 * holds a published version (or none), so those are the N it asks for.
 */
static int
mf_bundle_tree(struct mf_cli *c, const char *dir)
{
	struct mf_tree t = { dir, NULL, 0, NULL, NULL, 0, 0 };
	char *sub = NULL, name[64];
	size_t i, end;
	int rc;

	if ((rc = mf_db_bundle_list(c->db, 0, mf_tree_add, &t)) != MF_OK)
		goto out;
	if (t.n == 0) {
		rc = MF_ERR_NOTFOUND;
		goto out;
	}
	if ((sub = mf_path_join(dir, "trust/v")) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((rc = mf_mkdir_p(sub, 0755)) != MF_OK)
		goto out;
	free(sub);
	if ((sub = mf_path_join(dir, "trust/since")) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((rc = mf_mkdir_p(sub, 0755)) != MF_OK)
		goto out;
	for (i = 0; i < t.n; i++) {
		end = i + 1 < t.n ? t.off[i + 1] : t.len;
		snprintf(name, sizeof(name), "trust/v/%u", t.ver[i]);
		if ((rc = mf_tree_file(dir, name, t.all + t.off[i], end - t.off[i])) != MF_OK)
			goto out;
		/* since/N: every version after N, concatenated. */
		snprintf(name, sizeof(name), "trust/since/%u", t.ver[i]);
		if ((rc = mf_tree_file(dir, name, t.all + end, t.len - end)) != MF_OK)
			goto out;
	}
	if ((rc = mf_tree_file(dir, "trust/since/0", t.all, t.len)) != MF_OK ||
	    (rc = mf_tree_file(dir, "trust/latest", t.all + t.off[t.n - 1],
	    t.len - t.off[t.n - 1])) != MF_OK)
		goto out;
	rc = MF_OK;
out:
	free(sub);
	free(t.all);
	free(t.off);
	free(t.ver);
	return rc;
}

int
mf_cli_bundle_publish(struct mf_cli *c, const unsigned char *der, size_t len, char *why,
    size_t wl)
{
	struct mf_bundle *b = NULL;
	struct mf_known known = { .n = 0 };
	uint32_t prev;
	size_t valid, i;
	int rc;

	why[0] = '\0';
	if ((rc = mf_bundle_parse(der, len, &b)) != MF_OK) {
		snprintf(why, wl, "not a trust bundle in strict DER (mayfly-bundle(5))");
		return rc;
	}
	if ((rc = mf_bundle_device_check(c, b, der, len, 0, &prev, &valid, why, wl)) != MF_OK)
		goto out;
	/* What no device can check: every root listed is one this CA made
	 * (recorded by a ceremony), so it can sign the next version. */
	if ((rc = mf_db_ca_list(c->db, mf_known_add, &known)) != MF_OK) {
		snprintf(why, wl, "cannot read the CA certificates");
		goto out;
	}
	for (i = 0; i < b->nroots; i++) {
		if (mf_known_name(&known, b->roots[i]) == NULL) {
			char hex[65];

			mf_hex(b->roots[i], 32, hex);
			snprintf(why, wl, "root %zu (sha256 %s) is not a root this CA has recorded",
			    i + 1, hex);
			rc = MF_ERR_BUNDLE_ROOT_UNKNOWN;
			goto out;
		}
	}
	if ((rc = mf_db_bundle_publish(c->db, b->version, prev, b->issued_at, der, len,
	    c->actor)) != MF_OK) {
		snprintf(why, wl, "%s", rc == MF_ERR_BUNDLE_VERSION ?
		    "another version was published meanwhile; check again" : "cannot record it");
		goto out;
	}
	if (c->cfg->ocsp_export_dir != NULL &&
	    (rc = mf_bundle_tree(c, c->cfg->ocsp_export_dir)) != MF_OK) {
		/* Recorded and served by mayflyd: only the copy is missing. */
		fprintf(stderr, "mayfly: %s: warning: published, but cannot write %s/trust/ (%s)\n",
		    c->cmd, c->cfg->ocsp_export_dir, mf_errname(rc));
		rc = MF_OK;
	}
out:
	mf_known_free(&known);
	mf_bundle_free(b);
	return rc;
}

/* ---- the subcommands -------------------------------------------------------- */

static int
mf_bundle_read(struct mf_cli *c, const char *path, unsigned char **der, size_t *len,
    struct mf_bundle **b)
{
	int rc;

	if ((rc = mf_file_read(path, MF_BUNDLE_MAX_LEN, der, len)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot read %s", path);
	if ((rc = mf_bundle_parse(*der, *len, b)) != MF_OK) {
		free(*der);
		*der = NULL;
		return mf_cli_fail(c, rc, "%s is not a trust bundle in strict DER "
		    "(mayfly-bundle(5))", path);
	}
	return MF_EXIT_OK;
}

static int
mf_bundle_write(struct mf_cli *c, const struct mf_bundle *b, const char *path, int excl)
{
	unsigned char *der = NULL;
	size_t len;
	int rc;

	if ((rc = mf_bundle_encode(b, &der, &len)) == MF_OK)
		rc = mf_file_write(path, der, len, 0644, excl);
	free(der);
	return rc;
}

/* Splits "a,b,c" in place. */
static size_t
mf_split(char *s, const char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return max + 1;
		out[n++] = tok;
	}
	return n;
}

static int
mf_parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > INT32_MAX)
		return MF_ERR_INVAL;
	*out = (uint32_t)v;
	return MF_OK;
}

static int
bundle_create(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "roots", required_argument, NULL, 'r' },
		{ "threshold", required_argument, NULL, 't' },
		{ "not-after", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--version N --roots NAME,... --threshold K "
	    "[--not-after DURATION] --out FILE";
	const char *names[MF_BUNDLE_MAX_ROOTS + 1], *out = NULL, *what = "";
	char *roots = NULL;
	uint32_t version = 0, threshold = 0, latest;
	int64_t not_after = 0, d;
	struct mf_bundle *b = NULL;
	size_t n = 0;
	int ch, ex, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			if (mf_parse_u32(optarg, &version) != MF_OK || version == 0)
				return mf_cli_fail(c, MF_ERR_INVAL, "--version '%s': 1..2147483647", optarg);
			break;
		case 'r': roots = optarg; break;
		case 't':
			if (mf_parse_u32(optarg, &threshold) != MF_OK || threshold == 0 ||
			    threshold > MF_BUNDLE_MAX_THRESHOLD)
				return mf_cli_fail(c, MF_ERR_INVAL, "--threshold '%s': 1..8", optarg);
			break;
		case 'n':
			if (mf_duration_parse(optarg, &d) != MF_OK || d <= 0)
				return mf_cli_fail(c, MF_ERR_DURATION, "--not-after '%s'", optarg);
			not_after = (int64_t)time(NULL) + d;
			break;
		case 'o': out = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (version == 0 || roots == NULL || threshold == 0 || out == NULL || optind != argc)
		return mf_cli_usage(c, use);
	if ((n = mf_split(roots, names, MF_BUNDLE_MAX_ROOTS)) == 0 || n > MF_BUNDLE_MAX_ROOTS)
		return mf_cli_fail(c, MF_ERR_INVAL, "--roots: 1 to %d names", MF_BUNDLE_MAX_ROOTS);
	if (threshold > n)
		return mf_cli_fail(c, MF_ERR_INVAL, "--threshold %u is more than the %zu roots "
		    "listed: the next version could never be signed", threshold, n);
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_bundle_latest(c->db, &latest)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot read the published bundles");
	if (version <= latest)
		return mf_cli_fail(c, MF_ERR_BUNDLE_VERSION, "version %u is published already; "
		    "make version %u or above", latest, latest + 1);
	if ((rc = mf_cli_bundle_make(c, version, names, n, threshold, not_after, &b, &what)) !=
	    MF_OK)
		return mf_cli_fail(c, rc, "%s", what);
	if ((rc = mf_bundle_write(c, b, out, 1)) != MF_OK) {
		mf_bundle_free(b);
		return mf_cli_fail(c, rc, "cannot write %s", out);
	}
	printf("made unsigned bundle version %u in %s: %zu roots, the next version needs %u "
	    "signatures\nnext: mayfly bundle sign %s --root NAME (once per root)\n",
	    version, out, n, threshold, out);
	mf_bundle_free(b);
	return MF_EXIT_OK;
}

static int
bundle_sign(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char *root = NULL, *path, *what = "";
	unsigned char *der = NULL;
	struct mf_bundle *b = NULL;
	size_t len;
	int ch, ex, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return mf_cli_usage(c, "FILE --root NAME");
		root = optarg;
	}
	if (root == NULL || optind != argc - 1)
		return mf_cli_usage(c, "FILE --root NAME");
	path = argv[optind];
	if ((ex = mf_cli_open(c, MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if ((ex = mf_bundle_read(c, path, &der, &len, &b)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_cli_bundle_sign_root(c, b, root, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto out;
	}
	/* Replaced atomically: an interrupted step leaves the file as it was. */
	if ((rc = mf_bundle_write(c, b, path, 0)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot write %s", path);
		goto out;
	}
	printf("signed bundle version %u with %s (%zu signatures now)\n", b->version, root,
	    b->nsigs);
	ex = MF_EXIT_OK;
out:
	mf_bundle_free(b);
	free(der);
	return ex;
}

static void
mf_print_time(const char *label, int64_t t)
{
	char s[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(s, sizeof(s), "-");
	else
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-12s %s\n", label, s);
}

static int
bundle_show(struct mf_cli *c, int argc, char **argv)
{
	unsigned char pins[2 * MF_BUNDLE_MAX_ROOTS][32];
	struct mf_known known = { .n = 0 };
	struct mf_bundle *b = NULL, *prev = NULL;
	struct mfv_ctx *ctx = NULL;
	unsigned char *der = NULL, *pd = NULL;
	size_t len, pl = 0, npins, i, j;
	char hex[65];
	int ex, rc;

	if (argc != 2)
		return mf_cli_usage(c, "FILE");
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	if ((ex = mf_bundle_read(c, argv[1], &der, &len, &b)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_ca_list(c->db, mf_known_add, &known)) != MF_OK ||
	    (ctx = malloc(sizeof(*ctx))) == NULL) {
		ex = mf_cli_fail(c, rc ? rc : MF_ERR_NOMEM, "cannot read the CA certificates");
		goto out;
	}
	mf_bundle_hex_sha256(der, len, hex);
	printf("version      %u\n", b->version);
	mf_print_time("issued", b->issued_at);
	mf_print_time("not after", b->not_after);
	printf("threshold    %u (signatures by these roots the next version needs)\n",
	    b->threshold);
	printf("sha256       %s\n", hex);
	for (i = 0; i < b->nroots; i++) {
		const char *name = mf_known_name(&known, b->roots[i]);

		mf_hex(b->roots[i], 32, hex);
		printf("root         %s %s\n", hex, name != NULL ? name : "(unknown to this CA)");
	}
	/* The pins a signature can count for: this version's (a first
	 * version vouches for itself) and those of the published one before. */
	memcpy(pins, b->roots, b->nroots * 32);
	npins = b->nroots;
	if ((rc = mf_db_bundle_get(c->db, 0, b->version, &pd, &pl, NULL)) == MF_OK &&
	    mf_bundle_parse(pd, pl, &prev) == MF_OK)
		for (i = 0; i < prev->nroots && npins < 2 * MF_BUNDLE_MAX_ROOTS; i++)
			memcpy(pins[npins++], prev->roots[i], 32);
	for (i = 0; i < b->nsigs; i++) {
		const unsigned char *p = b->sigs[i].cert;
		X509 *cert = d2i_X509(NULL, &p, (long)b->sigs[i].cert_len);
		char subj[256] = "?";
		const char *name = NULL;
		const char *state = "by a root neither this version nor the one before pins";

		if (cert != NULL) {
			X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
			/* Asks the library about this signer alone. */
			for (j = 0; j < npins; j++) {
				struct mfv_buf in = { der, len };
				int e;

				if (!mf_bundle_pin_matches(cert, pins[j]))
					continue;
				mfv_init(ctx);
				mfv_set_time(ctx, (int64_t)time(NULL));
				mfv_add_root(ctx, pins[j]);
				e = mfv_bundle_apply(ctx, &in, 1, NULL);
				state = e == 0 ? "valid" : mfv_errname(e);
				break;
			}
			for (j = 0; j < known.n; j++)
				if (X509_cmp(cert, known.cert[j]) == 0)
					name = known.name[j];
		}
		ERR_clear_error();
		printf("signature    %s %s: %s\n", name != NULL ? name : "-", subj, state);
		X509_free(cert);
	}
	if (b->nsigs == 0)
		printf("signature    none yet\n");
	ex = MF_EXIT_OK;
out:
	free(ctx);
	mf_known_free(&known);
	mf_bundle_free(prev);
	mf_bundle_free(b);
	free(pd);
	free(der);
	return ex;
}

static int
bundle_verify(struct mf_cli *c, int argc, char **argv)
{
	struct mf_bundle *b = NULL;
	unsigned char *der = NULL;
	uint32_t prev;
	size_t len, valid;
	char why[512];
	int ex, rc;

	if (argc != 2)
		return mf_cli_usage(c, "FILE");
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	if ((ex = mf_bundle_read(c, argv[1], &der, &len, &b)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_bundle_device_check(c, b, der, len, b->version, &prev, &valid, why,
	    sizeof(why))) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", why[0] ? why : mf_strerror(rc));
		goto out;
	}
	if (prev != 0)
		printf("ok: a device holding version %u applies version %u\n", prev, b->version);
	else
		printf("ok: version %u is signed by %zu of its own roots (threshold %u)\n",
		    b->version, valid, b->threshold);
	ex = MF_EXIT_OK;
out:
	mf_bundle_free(b);
	free(der);
	return ex;
}

static int
bundle_publish(struct mf_cli *c, int argc, char **argv)
{
	struct mf_bundle *b = NULL;
	unsigned char *der = NULL;
	size_t len;
	char why[512];
	int ex, rc;

	if (argc != 2)
		return mf_cli_usage(c, "FILE");
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if ((ex = mf_bundle_read(c, argv[1], &der, &len, &b)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_cli_bundle_publish(c, der, len, why, sizeof(why))) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s: nothing published", why[0] ? why : mf_strerror(rc));
		goto out;
	}
	printf("published trust bundle version %u; mayflyd serves it at /trust/latest\n",
	    b->version);
	ex = MF_EXIT_OK;
out:
	mf_bundle_free(b);
	free(der);
	return ex;
}

/* A C source with the bundle as an array, for mfv_bundle_load() in firmware. */
static int
mf_bundle_c(const unsigned char *der, size_t len, uint32_t version, const char *ident,
    char **out, size_t *outlen)
{
	char hex[65];
	FILE *f;
	size_t i;

	mf_bundle_hex_sha256(der, len, hex);
	if ((f = open_memstream(out, outlen)) == NULL)
		return MF_ERR_NOMEM;
	fprintf(f, "/*\n * Factory trust bundle, version %u (sha256 %s),\n"
	    " * written by `mayfly bundle export --format c`. Provision this, not raw pins:\n"
	    " * at boot, mfv_bundle_load(ctx, %s, %s_len) (libmayfly-verify(3)).\n */\n"
	    "#include <stddef.h>\n#include <stdint.h>\n\n"
	    "const uint8_t %s[%zu] = {", version, hex, ident, ident, ident, len);
	for (i = 0; i < len; i++)
		fprintf(f, "%s0x%02x,", i % 12 == 0 ? "\n\t" : " ", der[i]);
	fprintf(f, "\n};\nconst size_t %s_len = %zu;\n", ident, len);
	return fclose(f) == 0 ? MF_OK : MF_ERR_NOMEM;
}

static int
bundle_export(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "version", required_argument, NULL, 'v' },
		{ "name", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--format c|der [--version N] [--name IDENT] [--out FILE] | "
	    "--dir DIR";
	const char *format = NULL, *ident = "mayfly_factory_bundle", *out = NULL, *dir = NULL;
	unsigned char *der = NULL;
	char *text = NULL;
	uint32_t version = 0, got = 0;
	size_t len = 0, tlen = 0, i;
	int ch, ex, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'v':
			if (mf_parse_u32(optarg, &version) != MF_OK || version == 0)
				return mf_cli_fail(c, MF_ERR_INVAL, "--version '%s'", optarg);
			break;
		case 'n':
			ident = optarg;
			for (i = 0; ident[i] != '\0'; i++)
				if (!((ident[i] >= 'a' && ident[i] <= 'z') || ident[i] == '_' ||
				    (ident[i] >= 'A' && ident[i] <= 'Z') ||
				    (i > 0 && ident[i] >= '0' && ident[i] <= '9')))
					return mf_cli_fail(c, MF_ERR_INVAL, "--name: a C identifier");
			if (i == 0 || i > 64)
				return mf_cli_fail(c, MF_ERR_INVAL, "--name: a C identifier");
			break;
		case 'o': out = optarg; break;
		case 'd': dir = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc || (dir == NULL) == (format == NULL) ||
	    (format != NULL && strcmp(format, "c") != 0 && strcmp(format, "der") != 0))
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	if (dir != NULL) {
		if ((rc = mf_bundle_tree(c, dir)) != MF_OK)
			return mf_cli_fail(c, rc, "%s", rc == MF_ERR_NOTFOUND ?
			    "no bundle is published" : "cannot write the files");
		printf("wrote %s/trust/ (latest, v/N, since/N)\n", dir);
		return MF_EXIT_OK;
	}
	if ((rc = mf_db_bundle_get(c->db, version, 0, &der, &len, &got)) != MF_OK)
		return mf_cli_fail(c, rc, "%s", rc == MF_ERR_NOTFOUND ?
		    "no such published bundle" : "cannot read the published bundles");
	if (strcmp(format, "c") == 0) {
		if ((rc = mf_bundle_c(der, len, got, ident, &text, &tlen)) != MF_OK) {
			ex = mf_cli_fail(c, rc, NULL);
			goto out;
		}
	}
	if (out != NULL)
		rc = mf_file_write(out, text != NULL ? (void *)text : (void *)der,
		    text != NULL ? tlen : len, 0644, 0);
	else
		rc = fwrite(text != NULL ? (void *)text : (void *)der, 1, text != NULL ? tlen : len,
		    stdout) == (text != NULL ? tlen : len) && fflush(stdout) == 0 ? MF_OK : MF_ERR_IO;
	ex = rc == MF_OK ? MF_EXIT_OK : mf_cli_fail(c, rc, "cannot write %s", out ? out : "stdout");
out:
	free(text);
	free(der);
	return ex;
}

int
mf_cli_bundle(struct mf_cli *c, int argc, char **argv)
{
	static const struct {
		const char *name, *cmd;
		int (*fn)(struct mf_cli *, int, char **);
	} sub[] = {
		{ "create", "bundle create", bundle_create },
		{ "sign", "bundle sign", bundle_sign },
		{ "show", "bundle show", bundle_show },
		{ "verify", "bundle verify", bundle_verify },
		{ "publish", "bundle publish", bundle_publish },
		{ "export", "bundle export", bundle_export },
	};
	size_t i;

	if (argc >= 2)
		for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
			if (strcmp(argv[1], sub[i].name) == 0) {
				c->cmd = sub[i].cmd;
				return sub[i].fn(c, argc - 1, argv + 1);
			}
	return mf_cli_usage(c, "create|sign|show|verify|publish|export ...");
}
