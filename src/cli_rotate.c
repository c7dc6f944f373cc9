/*
 * cli_rotate.c: the rotation ceremonies of mayfly-rotation(7) that change
 * which CAs are in service: `mayfly root retire NAME` and `mayfly
 * intermediate rotate` (`mayfly root add NAME` is in cli_ca.c, beside root
 * init). Each is one command; with --dry-run it opens the log read-only,
 * prints what it would do and changes nothing.
 *
 * The configuration file is the operator's: these commands never rewrite
 * it. What they make is recorded in the log at once; what the config must
 * say afterwards (a new intermediates: entry, issuance.active, a root or a
 * cross: path to remove) is printed as the YAML to paste, and takes effect
 * when the operator edits the file (and restarts mayflyd).
 *
 * "Active roots" are the configured roots the newest published trust
 * bundle lists (all configured roots while none is published): a root
 * left out of a published bundle certifies nothing new.
 */
#include "mf_build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "cli.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

#define MF_INT_LIFETIME		(365LL * 86400)

/* The newest published bundle, parsed; *out NULL if none is published. */
static int
mf_rot_latest_bundle(struct mf_cli *c, struct mf_bundle **out)
{
	unsigned char *der = NULL;
	size_t len = 0;
	uint32_t v = 0;
	int rc;

	*out = NULL;
	if ((rc = mf_db_bundle_latest(c->db, &v)) != MF_OK || v == 0)
		return rc;
	if ((rc = mf_db_bundle_get(c->db, v, 0, &der, &len, NULL)) != MF_OK)
		return rc;
	rc = mf_bundle_parse(der, len, out);
	free(der);
	return rc;
}

/* 1 if the configured root's certificate is pinned by b (b NULL: every root is). */
static int
mf_rot_root_in(const struct mf_ca_conf *r, const struct mf_bundle *b)
{
	X509 *x = NULL;
	size_t i;
	int in = 0;

	if (mf_cert_load(r->cert, &x) != MF_OK)
		return 0;
	if (b == NULL)
		in = 1;
	for (i = 0; b != NULL && i < b->nroots && !in; i++)
		in = mf_bundle_pin_matches(x, b->roots[i]);
	X509_free(x);
	return in;
}

/* ---- root retire ------------------------------------------------------------ */

struct mf_rot_signed {
	const char *root;
	char *names[64];		/* distinct CA names the root certified */
	char *kinds[64];
	size_t n;
	int overflow;
	size_t total;			/* CA certificates it signed */
};

static int
mf_rot_count_cb(const void *der, size_t len, int64_t revoked_at, int reason, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

static int
mf_rot_signed_cb(const struct mf_ca_rec *r, void *arg)
{
	struct mf_rot_signed *s = arg;
	size_t i;

	if (strcmp(r->kind, "root") == 0 || strcmp(r->signed_by, s->root) != 0)
		return 0;
	s->total++;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], r->name) == 0)
			return 0;
	if (s->n == sizeof(s->names) / sizeof(s->names[0])) {
		s->overflow = 1;
		return 1;
	}
	if ((s->names[s->n] = strdup(r->name)) == NULL ||
	    (s->kinds[s->n] = strdup(r->kind)) == NULL) {
		free(s->names[s->n]);
		return MF_ERR_NOMEM;
	}
	s->n++;
	return 0;
}

static int
mf_cli_root_retire(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "threshold", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "NAME [--reason cessationOfOperation|superseded|keyCompromise|...] "
	    "[--threshold K] [--out FILE] [--dry-run]";
	struct mf_rot_signed s;
	struct mf_bundle *pub = NULL, *nb = NULL;
	const struct mf_ca_conf *root, *active;
	const char *reason = "cessationOfOperation", *out = NULL, *names[MF_BUNDLE_MAX_ROOTS];
	const char *what = "";
	unsigned char *der = NULL;
	size_t i, n = 0, len = 0;
	unsigned long th = 0;
	uint32_t threshold = 0, version = 0;
	char *end, outbuf[64], detail[512];
	int ch, rc, ex, code, dry = 0, revoked = 0, in_bundle, wrote = 0, tx = 0;

	memset(&s, 0, sizeof(s));
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'r': reason = optarg; break;
		case 'o': out = optarg; break;
		case 'n': dry = 1; break;
		case 't':
			th = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || th == 0 || th > MF_BUNDLE_MAX_ROOTS)
				return mf_cli_fail(c, MF_ERR_INVAL, "--threshold '%s': 1 to %d",
				    optarg, MF_BUNDLE_MAX_ROOTS);
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind + 1 != argc)
		return mf_cli_usage(c, use);
	if ((code = mf_cli_reason(reason)) < 0)
		return mf_cli_fail(c, MF_ERR_INVAL, "unknown reason '%s'", reason);
	if ((ex = mf_cli_open(c, dry ? MF_NEED_DB_RO : MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	s.root = argv[optind];
	if ((root = mf_config_root(c->cfg, s.root)) == NULL)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no root '%s' in %s", s.root,
		    c->config_path);
	/*
	 * Retiring the root that certified the active intermediate would stop
	 * issuance (its certificate is revoked below): rotate first.
	 */
	active = c->cfg->active_intermediate ?
	    mf_config_intermediate(c->cfg, c->cfg->active_intermediate) : NULL;
	if (active != NULL && active->root != NULL && strcmp(active->root, s.root) == 0)
		return mf_cli_fail(c, MF_ERR_INVAL, "%s certified the active intermediate %s: "
		    "run `mayfly intermediate rotate --root OTHER` and make its result "
		    "issuance.active first", s.root, active->name);

	if ((rc = mf_db_ca_list(c->db, mf_rot_signed_cb, &s)) != MF_OK && rc != 1) {
		ex = mf_cli_fail(c, rc, "cannot read the CA certificates of the log");
		goto out;
	}
	if (s.overflow) {
		ex = mf_cli_fail(c, MF_ERR_INVAL, "%s certified more than %zu CAs", s.root, s.n);
		goto out;
	}
	if ((rc = mf_rot_latest_bundle(c, &pub)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot read the published trust bundle");
		goto out;
	}
	in_bundle = pub != NULL && mf_rot_root_in(root, pub);
	{
		size_t nrev = 0;

		if ((rc = mf_db_ca_revoked_list(c->db, s.root, mf_rot_count_cb, &nrev)) != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot read the CA revocations of the log");
			goto out;
		}
		/* Nothing left to revoke and no bundle lists it: done before. */
		if (!in_bundle && nrev >= s.total) {
			ex = mf_cli_fail(c, MF_ERR_REVOKED, "root %s is retired already (no "
			    "published bundle lists it, all it signed is revoked)", s.root);
			goto out;
		}
	}
	if (in_bundle) {
		/*
		 * Every other configured root whose certificate exists: the roots
		 * of the published bundle, and any added since (mayfly root add),
		 * so that one bundle both retires and adds.
		 */
		for (i = 0; i < c->cfg->nroots; i++)
			if (strcmp(c->cfg->roots[i].name, s.root) != 0 &&
			    mf_rot_root_in(&c->cfg->roots[i], NULL) && n < MF_BUNDLE_MAX_ROOTS)
				names[n++] = c->cfg->roots[i].name;
		if (n == 0) {
			ex = mf_cli_fail(c, MF_ERR_INVAL, "%s is the only root of bundle %u: add "
			    "another root first", s.root, pub->version);
			goto out;
		}
		version = pub->version + 1;
		threshold = th ? (uint32_t)th : pub->threshold < n ? pub->threshold : (uint32_t)n;
		if (threshold > n) {
			ex = mf_cli_fail(c, MF_ERR_INVAL, "--threshold %u is above the %zu roots left",
			    threshold, n);
			goto out;
		}
		if (out == NULL) {
			snprintf(outbuf, sizeof(outbuf), "bundle-v%u.der", version);
			out = outbuf;
		}
		if (access(out, F_OK) == 0) {
			ex = mf_cli_fail(c, MF_ERR_EXISTS, "%s exists already", out);
			goto out;
		}
	}

	if (dry) {
		printf("would retire root %s (reason %s), recorded as root-retire in the audit log\n",
		    s.root, mf_cli_reason_name(code));
		for (i = 0; i < s.n; i++)
			printf("would revoke %s %s as signed by %s (listed by `mayfly crl root "
			    "--name %s`)\n", s.kinds[i], s.names[i], s.root, s.root);
		if (in_bundle) {
			printf("would write unsigned bundle version %u to %s: roots", version, out);
			for (i = 0; i < n; i++)
				printf("%s%s", i ? "," : " ", names[i]);
			printf(", threshold %u\n", threshold);
		} else
			printf("no published bundle lists %s: no bundle to prepare\n", s.root);
		printf("nothing changed (--dry-run)\n");
		ex = MF_EXIT_OK;
		goto out;
	}

	/* One transaction: the retirement, the revocations and the bundle's record. */
	if ((rc = mf_db_begin(c->db)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot open a transaction: %s", mf_db_errmsg(c->db));
		goto out;
	}
	tx = 1;
	for (i = 0; i < s.n; i++) {
		int k = 0;

		rc = mf_db_ca_revoke(c->db, s.names[i], s.root, code, (int64_t)time(NULL),
		    c->actor, &k);
		if (rc == MF_ERR_REVOKED)
			continue;	/* revoked already (intermediate revoke) */
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot revoke %s signed by %s", s.names[i], s.root);
			goto out;
		}
		revoked += k;
	}
	if (in_bundle) {
		if ((rc = mf_cli_bundle_make(c, version, names, n, threshold, 0, &nb, &what)) != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot prepare bundle %u: %s", version, what);
			goto out;
		}
		if ((rc = mf_bundle_encode(nb, &der, &len)) != MF_OK ||
		    (rc = mf_file_write(out, der, len, 0644, 1)) != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot write %s", out);
			goto out;
		}
		wrote = 1;
	}
	snprintf(detail, sizeof(detail), "name=%s reason=%d revoked=%d bundle_version=%u",
	    s.root, code, revoked, version);
	if ((rc = mf_db_audit_append(c->db, "root-retire", c->actor, detail)) != MF_OK ||
	    (rc = mf_db_commit(c->db)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot record the retirement: %s", mf_db_errmsg(c->db));
		goto out;
	}
	tx = 0;
	printf("retired root %s: %d CA certificate%s it signed revoked (publish them with "
	    "`mayfly crl root --name %s`)\n", s.root, revoked, revoked == 1 ? "" : "s", s.root);
	if (in_bundle)
		printf("unsigned bundle version %u without %s: %s; sign it with `mayfly bundle sign "
		    "%s --root NAME` by %u root%s of version %u, then `mayfly bundle publish %s`\n",
		    version, s.root, out, out, pub->threshold, pub->threshold == 1 ? "" : "s",
		    pub->version, out);
	printf("then remove from %s: the roots: entry of %s and every cross: path of an "
	    "intermediate signed by it; keep its key until devices have the bundle\n",
	    c->config_path, s.root);
	ex = MF_EXIT_OK;
out:
	if (tx) {
		mf_db_rollback(c->db);
		if (wrote)
			unlink(out);
	}
	for (i = 0; i < s.n; i++) {
		free(s.names[i]);
		free(s.kinds[i]);
	}
	free(der);
	mf_bundle_free(pub);
	mf_bundle_free(nb);
	return ex;
}

/* ---- intermediate rotate ----------------------------------------------------- */

/* "issuing-1" -> "issuing-2"; "ca" -> "ca-2". */
static void
mf_rot_next_name(const char *old, char *buf, size_t len)
{
	const char *d = strrchr(old, '-');
	char *end;
	unsigned long n;

	if (d != NULL && d[1] != '\0') {
		n = strtoul(d + 1, &end, 10);
		if (*end == '\0' && n < 1000000) {
			snprintf(buf, len, "%.*s-%lu", (int)(d - old), old, n + 1);
			return;
		}
	}
	snprintf(buf, len, "%s-2", old);
}

/*
 * The new key's URI, next to the old one: the same token with object=NEW
 * for pkcs11:, keys/NEW.pem for file:. NULL if it cannot be derived.
 */
static char *
mf_rot_key_uri(const char *old, const char *name)
{
	const char *o;
	char *s = NULL;

	if (strncmp(old, "pkcs11:", 7) == 0 && (o = strstr(old, "object=")) != NULL) {
		const char *rest = strchr(o, ';');

		if (asprintf(&s, "%.*sobject=%s%s", (int)(o - old), old, name,
		    rest != NULL ? rest : "") < 0)
			s = NULL;
	} else if (strncmp(old, "file:", 5) == 0) {
		if (asprintf(&s, "file:keys/%s.pem", name) < 0)
			s = NULL;
	}
	return s;
}

/* A config-relative path or file: URI made absolute against the config's directory. */
static char *
mf_rot_abs(struct mf_cli *c, const char *p)
{
	char *j, *s = NULL;

	if (strncmp(p, "pkcs11:", 7) == 0)
		return strdup(p);
	if (strncmp(p, "file:", 5) != 0)
		return mf_path_join(c->cfg->dir, p);
	if ((j = mf_path_join(c->cfg->dir, p + 5)) == NULL)
		return NULL;
	if (asprintf(&s, "file:%s", j) < 0)
		s = NULL;
	free(j);
	return s;
}

static int
mf_cli_int_rotate(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'N' },
		{ "root", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-type", required_argument, NULL, 't' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "[--name NEW] [--root ROOT] [--key URI] [--key-type T] "
	    "[--lifetime 1y] [--dry-run]";
	const char *name = NULL, *rootname = NULL, *key = NULL, *what = "";
	const struct mf_ca_conf *old, *primary = NULL, *active[MF_BUNDLE_MAX_ROOTS];
	struct mf_bundle *pub = NULL;
	struct mf_ca_conf nc;
	int kt = MF_KEY_EC_P256;
	int64_t lifetime = MF_INT_LIFETIME;
	size_t i, nactive = 0;
	char namebuf[128], dn[256], *keyuri = NULL, *cert = NULL, *crosses[MF_BUNDLE_MAX_ROOTS];
	char *written[MF_BUNDLE_MAX_ROOTS + 1];
	size_t nwritten = 0, ncross = 0;
	int ch, rc, ex, dry = 0, tx = 0;

	memset(&nc, 0, sizeof(nc));
	memset(crosses, 0, sizeof(crosses));
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'N': name = optarg; break;
		case 'r': rootname = optarg; break;
		case 'k': key = optarg; break;
		case 'n': dry = 1; break;
		case 't':
			if ((ex = mf_cli_keytype_opt(c, optarg, &kt)) != MF_EXIT_OK)
				return ex;
			break;
		case 'l':
			if (mf_duration_parse(optarg, &lifetime) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--lifetime '%s'", optarg);
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc)
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, dry ? MF_NEED_DB_RO : MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (c->cfg->active_intermediate == NULL ||
	    (old = mf_config_intermediate(c->cfg, c->cfg->active_intermediate)) == NULL)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no issuance.active in %s",
		    c->config_path);
	if (name == NULL) {
		mf_rot_next_name(old->name, namebuf, sizeof(namebuf));
		name = namebuf;
	}
	if (mf_config_intermediate(c->cfg, name) != NULL || mf_config_root(c->cfg, name) != NULL) {
		ex = mf_cli_fail(c, MF_ERR_EXISTS, "%s is in %s already: give --name", name,
		    c->config_path);
		goto out;
	}
	/* The active roots: those the published bundle lists. */
	if ((rc = mf_rot_latest_bundle(c, &pub)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot read the published trust bundle");
		goto out;
	}
	for (i = 0; i < c->cfg->nroots && nactive < MF_BUNDLE_MAX_ROOTS; i++)
		if (mf_rot_root_in(&c->cfg->roots[i], pub))
			active[nactive++] = &c->cfg->roots[i];
	for (i = 0; i < nactive; i++)
		if (rootname != NULL ? strcmp(active[i]->name, rootname) == 0 :
		    old->root != NULL && strcmp(active[i]->name, old->root) == 0)
			primary = active[i];
	if (primary == NULL && rootname != NULL) {
		ex = mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "'%s' is not an active root (configured, "
		    "and listed by the published bundle)", rootname);
		goto out;
	}
	if (primary == NULL && nactive > 0)
		primary = active[0];
	if (primary == NULL) {
		ex = mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no active root to certify %s", name);
		goto out;
	}

	nc.name = (char *)name;
	nc.root = (char *)primary->name;
	if ((keyuri = key != NULL ? strdup(key) : mf_rot_key_uri(old->key, name)) == NULL) {
		ex = mf_cli_fail(c, MF_ERR_INVAL, "cannot derive a key URI from %s: give --key",
		    old->key);
		goto out;
	}
	if (asprintf(&cert, "certs/%s.pem", name) < 0) {
		cert = NULL;
		ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
		goto out;
	}
	for (i = 0; i < nactive; i++) {
		if (active[i] == primary)
			continue;
		if (asprintf(&crosses[ncross], "certs/%s.%s.pem", name, active[i]->name) < 0) {
			crosses[ncross] = NULL;
			ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
			goto out;
		}
		ncross++;
	}
	snprintf(dn, sizeof(dn), "CN=mayfly issuing CA %s,O=mayfly", name);

	if (dry) {
		printf("would make intermediate %s: a new key at %s, certified by %s (%s)\n",
		    name, keyuri, primary->name, cert);
		for (i = 0, ncross = 0; i < nactive; i++)
			if (active[i] != primary)
				printf("would cross-sign it by %s (%s)\n", active[i]->name,
				    crosses[ncross++]);
		printf("each recorded in the log with a ceremony audit row; %s keeps OCSP and CRL "
		    "service while it stays under intermediates:\n", old->name);
		printf("nothing changed (--dry-run)\n");
		ex = MF_EXIT_OK;
		goto out;
	}

	/* Absolute paths for the work; the config snippet keeps them relative. */
	if ((nc.key = mf_rot_abs(c, keyuri)) == NULL || (nc.cert = mf_rot_abs(c, cert)) == NULL) {
		ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
		goto out;
	}
	if (access(nc.cert, F_OK) == 0) {
		ex = mf_cli_fail(c, MF_ERR_EXISTS, "%s exists already", nc.cert);
		goto out;
	}
	if ((rc = mf_db_begin(c->db)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot open a transaction: %s", mf_db_errmsg(c->db));
		goto out;
	}
	tx = 1;
	if ((rc = mf_cli_make_intermediate(c, &nc, primary, kt, dn, lifetime, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s: %s", name, what);
		goto out;
	}
	written[nwritten++] = strdup(nc.cert);
	for (i = 0, ncross = 0; i < nactive; i++) {
		char *p;

		if (active[i] == primary)
			continue;
		if ((p = mf_rot_abs(c, crosses[ncross++])) == NULL) {
			ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
			goto out;
		}
		rc = mf_cli_cross_sign(c, &nc, active[i], p, lifetime, &what);
		if (rc == MF_OK)
			written[nwritten++] = p;
		else
			free(p);
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "cross-sign %s by %s: %s", name, active[i]->name, what);
			goto out;
		}
	}
	if ((rc = mf_db_commit(c->db)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "commit failed: %s", mf_db_errmsg(c->db));
		goto out;
	}
	tx = 0;
	printf("made intermediate %s certified by %s, cross-signed by %zu other active root%s\n",
	    name, primary->name, ncross, ncross == 1 ? "" : "s");
	printf("to make it active, add under intermediates: in %s\n"
	    "  - name: %s\n    root: %s\n    key: %s\n    cert: %s\n", c->config_path, name,
	    primary->name, keyuri, cert);
	if (ncross > 0)
		printf("    cross:\n");
	for (i = 0; i < ncross; i++)
		printf("      - %s\n", crosses[i]);
	printf("and set\nissuance:\n  active: %s\n", name);
	printf("keep %s under intermediates: until its last certificate expires (mayfly list "
	    "--valid names none of it): mayflyd answers OCSP and serves the CRL for every listed "
	    "intermediate\n", old->name);
	ex = MF_EXIT_OK;
out:
	if (tx) {
		mf_db_rollback(c->db);
		for (i = 0; i < nwritten; i++)
			if (written[i] != NULL)
				unlink(written[i]);
	}
	for (i = 0; i < nwritten; i++)
		free(written[i]);
	for (i = 0; i < MF_BUNDLE_MAX_ROOTS; i++)
		free(crosses[i]);
	free(keyuri);
	free(cert);
	free(nc.key);
	free(nc.cert);
	mf_bundle_free(pub);
	return ex;
}

int
mf_cli_root_retire_cmd(struct mf_cli *c, int argc, char **argv)
{
	c->cmd = "root retire";
	return mf_cli_root_retire(c, argc, argv);
}

int
mf_cli_int_rotate_cmd(struct mf_cli *c, int argc, char **argv)
{
	c->cmd = "intermediate rotate";
	return mf_cli_int_rotate(c, argc, argv);
}
