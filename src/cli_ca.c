/*
 * cli_ca.c: the root ceremony from the command line: self-signed roots,
 * backup roots, issuing intermediates and their cross-signed twins.
 *
 * The config names every CA, its key URI and its certificate path; these
 * commands create what the config names. Keys are generated where the URI
 * says (inside the token for pkcs11:, a 0600 file for file:), so a pkcs11
 * key never exists outside the HSM. Every certificate made is recorded in the
 * database with a "ceremony" audit row before the command reports success.
 */
#include "mf_build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ceremony.h"
#include "cli.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

#define MF_ROOT_LIFETIME	(20LL * 365 * 86400)
#define MF_INT_LIFETIME		(365LL * 86400)
#define MF_MAX_PERMIT		16

static int
mf_cli_key(struct mf_cli *c, const char *uri, int keytype, EVP_PKEY **key)
{
	if (keytype == 0)
		return mf_keystore_load(c->ks, uri, key);
	return mf_keystore_generate(c->ks, uri, (enum mf_keytype)keytype, key);
}

/* Writes cert to path and records it; the file is written first so a failed
 * insert leaves a file the operator can see, never a logged certificate that
 * is missing on disk. */
static int
mf_cli_record(struct mf_cli *c, X509 *cert, const char *path, const char *name,
    const char *kind, const char *signed_by, const char *key_uri, const char **what)
{
	struct mf_ca_rec rec;
	unsigned char *der = NULL;
	int len, rc;

	if ((len = i2d_X509(cert, &der)) <= 0) {
		*what = "encode certificate";
		return MF_ERR_CRYPTO;
	}
	if ((rc = mf_cli_write_pem(path, &cert, 1, 1)) != MF_OK) {
		*what = path;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.name = (char *)name;
	rec.kind = (char *)kind;
	rec.signed_by = (char *)signed_by;
	rec.key_uri = (char *)key_uri;
	rec.der = der;
	rec.der_len = (size_t)len;
	{
		const ASN1_TIME *nb = X509_get0_notBefore(cert), *na = X509_get0_notAfter(cert);
		struct tm tm;

		ASN1_TIME_to_tm(nb, &tm);
		rec.not_before = (int64_t)timegm(&tm);
		ASN1_TIME_to_tm(na, &tm);
		rec.not_after = (int64_t)timegm(&tm);
	}
	if ((rc = mf_db_ca_insert(c->db, &rec, c->actor)) != MF_OK)
		*what = "record in the database";
out:
	OPENSSL_free(der);
	return rc;
}

int
mf_cli_make_root(struct mf_cli *c, const struct mf_ca_conf *root, int keytype,
    const char *subject, int64_t lifetime, const char **permit, size_t npermit,
    const char **what)
{
	struct mf_ca_params p;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc;

	if ((rc = mf_cli_key(c, root->key, keytype, &key)) != MF_OK) {
		*what = root->key;
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.subject = subject;
	p.not_before = (int64_t)time(NULL);
	p.lifetime = lifetime;
	p.pathlen = -1;
	p.permitted_dns = permit;
	p.npermitted_dns = npermit;
	if ((rc = mf_ceremony_root(key, &p, &cert)) != MF_OK) {
		*what = "self-sign the root";
		goto out;
	}
	rc = mf_cli_record(c, cert, root->cert, root->name, "root", root->name, root->key, what);
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

int
mf_cli_load_ca(struct mf_cli *c, const struct mf_ca_conf *ca, X509 **cert, EVP_PKEY **key,
    const char **what)
{
	int rc;

	if ((rc = mf_cert_load(ca->cert, cert)) != MF_OK) {
		*what = ca->cert;
		return rc;
	}
	if (key == NULL)
		return MF_OK;
	if ((rc = mf_keystore_load(c->ks, ca->key, key)) != MF_OK) {
		*what = ca->key;
		return rc;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		*what = ca->name;
		return MF_ERR_CA_MISMATCH;
	}
	return MF_OK;
}

static int
mf_cli_sign_intermediate(struct mf_cli *c, const struct mf_ca_conf *ic,
    const struct mf_ca_conf *root, EVP_PKEY *subject_key, const char *subject,
    const X509_NAME *subject_name, int64_t lifetime, const char *out, const char *kind, const char **what)
{
	struct mf_ca_params p;
	EVP_PKEY *rkey = NULL;
	X509 *rcert = NULL, *cert = NULL;
	int rc;

	if ((rc = mf_cli_load_ca(c, root, &rcert, &rkey, what)) != MF_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	p.subject = subject;
	p.subject_name = subject_name;
	p.not_before = (int64_t)time(NULL);
	p.lifetime = lifetime;
	p.pathlen = 0;
	p.url_base = c->cfg->url_base;
	p.issuer_name = root->name;
	if ((rc = mf_ceremony_intermediate(rcert, rkey, subject_key, &p, &cert)) != MF_OK) {
		*what = "sign the intermediate";
		goto out;
	}
	rc = mf_cli_record(c, cert, out, ic->name, kind, root->name, ic->key, what);
out:
	EVP_PKEY_free(rkey);
	X509_free(rcert);
	X509_free(cert);
	return rc;
}

int
mf_cli_make_intermediate(struct mf_cli *c, const struct mf_ca_conf *ic,
    const struct mf_ca_conf *root, int keytype, const char *subject, int64_t lifetime,
    const char **what)
{
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = mf_cli_key(c, ic->key, keytype, &key)) != MF_OK) {
		*what = ic->key;
		return rc;
	}
	rc = mf_cli_sign_intermediate(c, ic, root, key, subject, NULL, lifetime, ic->cert,
	    "intermediate", what);
	EVP_PKEY_free(key);
	return rc;
}

int
mf_cli_cross_sign(struct mf_cli *c, const struct mf_ca_conf *ic,
    const struct mf_ca_conf *other, const char *out, int64_t lifetime, const char **what)
{
	X509 *icert = NULL;
	EVP_PKEY *pub;
	int rc;

	/* The twin carries the same subject and key as the first certificate:
	 * only the public key is needed, the intermediate's key is not touched. */
	if ((rc = mf_cli_load_ca(c, ic, &icert, NULL, what)) != MF_OK)
		return rc;
	if ((pub = X509_get0_pubkey(icert)) == NULL) {
		rc = MF_ERR_CRYPTO;
		*what = ic->cert;
		goto out;
	}
	rc = mf_cli_sign_intermediate(c, ic, other, pub, NULL, X509_get_subject_name(icert),
	    lifetime, out, "cross", what);
out:
	X509_free(icert);
	return rc;
}

int
mf_cli_keytype_opt(const struct mf_cli *c, const char *s, int *keytype)
{
	enum mf_keytype t;

	if (mf_keytype_parse(s, &t) != MF_OK)
		return mf_cli_fail(c, MF_ERR_KEYTYPE, "unknown key type '%s'", s);
	*keytype = (int)t;
	return MF_EXIT_OK;
}

/* A config-relative path or file: URI made absolute against the config's directory. */
static char *
mf_cli_abs(struct mf_cli *c, const char *p)
{
	char *j, *s = NULL;

	if (strncmp(p, "file:", 5) != 0)
		return strncmp(p, "pkcs11:", 7) == 0 ? strdup(p) : mf_path_join(c->cfg->dir, p);
	if ((j = mf_path_join(c->cfg->dir, p + 5)) == NULL)
		return NULL;
	if (asprintf(&s, "file:%s", j) < 0)
		s = NULL;
	free(j);
	return s;
}

struct mf_root_seen {
	const char *name;
	int seen;
};

static int
mf_root_seen_cb(const struct mf_ca_rec *r, void *arg)
{
	struct mf_root_seen *s = arg;

	if (strcmp(r->kind, "root") == 0 && strcmp(r->name, s->name) == 0)
		s->seen = 1;
	return 0;
}

static int
mf_cli_root_cmd(struct mf_cli *c, int argc, char **argv, int backup)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "key-type", required_argument, NULL, 't' },
		{ "existing-key", no_argument, NULL, 'e' },
		{ "subject", required_argument, NULL, 's' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "permit-dns", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	const char *use = backup ? "[NAME] [--key URI] [--cert PATH] [--key-type T] "
	    "[--existing-key] [--subject DN] [--lifetime 20y] [--permit-dns DOMAIN]... [--dry-run]" :
	    "[--name NAME] [--key-type ec-p256|ec-p384|rsa3072|rsa4096|ed25519] "
	    "[--existing-key] [--subject DN] [--lifetime 20y] [--permit-dns DOMAIN]...";
	const char *name = NULL, *subject = NULL, *permit[MF_MAX_PERMIT], *what = "";
	const char *keyarg = NULL, *certarg = NULL;
	const struct mf_ca_conf *root;
	struct mf_ca_conf fresh;
	struct mf_root_seen seen;
	size_t npermit = 0, i;
	int64_t lifetime = MF_ROOT_LIFETIME;
	int ch, rc, ex, keytype = MF_KEY_EC_P256, dry = 0;
	char dn[256], dur[32], *certbuf = NULL;

	memset(&fresh, 0, sizeof(fresh));
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'n': name = optarg; break;
		case 's': subject = optarg; break;
		case 'e': keytype = 0; break;
		case 'k': keyarg = optarg; break;
		case 'C': certarg = optarg; break;
		case 'D': dry = 1; break;
		case 't':
			if ((ex = mf_cli_keytype_opt(c, optarg, &keytype)) != MF_EXIT_OK)
				return ex;
			break;
		case 'l':
			if (mf_duration_parse(optarg, &lifetime) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--lifetime '%s'", optarg);
			break;
		case 'p':
			if (npermit == MF_MAX_PERMIT)
				return mf_cli_fail(c, MF_ERR_INVAL, "at most %d --permit-dns", MF_MAX_PERMIT);
			permit[npermit++] = optarg;
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	/* root add NAME: the name may come as the operand. */
	if (backup && name == NULL && optind + 1 == argc)
		name = argv[optind++];
	if (optind != argc || (!backup && (keyarg || certarg || dry)))
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, dry ? MF_NEED_DB_RO : MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (name == NULL) {
		/* root init makes the first configured root; root add the next one
		 * whose certificate does not exist yet. */
		for (i = backup ? 1 : 0; i < c->cfg->nroots && name == NULL; i++) {
			X509 *x = NULL;

			if (!backup || mf_cert_load(c->cfg->roots[i].cert, &x) != MF_OK)
				name = c->cfg->roots[i].name;
			X509_free(x);
		}
		if (name == NULL)
			return mf_cli_fail(c, MF_ERR_CA_NOTFOUND,
			    "no root left to make; add one under roots: in %s", c->config_path);
	}
	if ((root = mf_config_root(c->cfg, name)) != NULL && (keyarg || certarg))
		return mf_cli_fail(c, MF_ERR_INVAL, "%s is in %s already, with its key and "
		    "certificate: leave out --key and --cert", name, c->config_path);
	if (root == NULL && !backup)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no root '%s' in %s", name, c->config_path);
	if (root == NULL) {
		/*
		 * A root the config does not name yet: its key in a token or
		 * file of its own, which only the operator can say. The config is
		 * the operator's file: we print the entry to add, never edit it.
		 */
		if (keyarg == NULL)
			return mf_cli_fail(c, MF_ERR_INVAL, "'%s' is not under roots: in %s: give "
			    "--key URI (a token or key file of its own) or add it there first",
			    name, c->config_path);
		if (mf_config_intermediate(c->cfg, name) != NULL)
			return mf_cli_fail(c, MF_ERR_EXISTS, "'%s' names an intermediate", name);
		fresh.name = (char *)name;
		if ((fresh.key = mf_cli_abs(c, keyarg)) == NULL) {
			ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
			goto out;
		}
		if (certarg == NULL) {
			if (asprintf(&certbuf, "certs/%s.pem", name) < 0) {
				certbuf = NULL;
				ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
				goto out;
			}
			certarg = certbuf;
		}
		if ((fresh.cert = mf_cli_abs(c, certarg)) == NULL) {
			ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
			goto out;
		}
		root = &fresh;
	}
	if (backup && c->cfg->nroots < 1) {
		ex = mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "a backup root needs a primary root in %s",
		    c->config_path);
		goto out;
	}
	/* Refuse before any key is made: a root recorded or a certificate on disk. */
	seen.name = name;
	seen.seen = 0;
	if (backup && (rc = mf_db_ca_list(c->db, mf_root_seen_cb, &seen)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot read the CA certificates of the log");
		goto out;
	}
	if (seen.seen || (backup && access(root->cert, F_OK) == 0)) {
		ex = mf_cli_fail(c, MF_ERR_EXISTS, "root %s exists already (%s)", name,
		    seen.seen ? "recorded in the log" : root->cert);
		goto out;
	}
	if (subject == NULL) {
		snprintf(dn, sizeof(dn), "CN=mayfly %s%s,O=mayfly", backup ? "backup root " : "root ", name);
		subject = dn;
	}
	if (dry) {
		printf("would make root %s: %s key at %s, self-signed certificate %s (%s, %s), "
		    "recorded in the log with a ceremony audit row\n", name,
		    keytype == 0 ? "the existing" : "a new", root->key, root->cert, subject,
		    mf_duration_fmt(lifetime, dur, sizeof(dur)));
	} else {
		rc = mf_cli_make_root(c, root, keytype, subject, lifetime, permit, npermit, &what);
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "%s: %s", root->name, what);
			goto out;
		}
		printf("made %sroot %s: key %s, certificate %s\n", backup ? "backup " : "",
		    root->name, root->key, root->cert);
	}
	if (root == &fresh)
		printf("%s under roots: in %s:\n  - name: %s\n    key: %s\n    cert: %s\n",
		    dry ? "it would need this entry" : "add this entry", c->config_path, name,
		    keyarg, certarg);
	if (dry)
		printf("nothing changed (--dry-run)\n");
	ex = MF_EXIT_OK;
out:
	free(fresh.key);
	free(fresh.cert);
	free(certbuf);
	return ex;
}

int
mf_cli_root(struct mf_cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0) {
		c->cmd = "root init";
		return mf_cli_root_cmd(c, argc - 1, argv + 1, 0);
	}
	if (argc >= 2 && strcmp(argv[1], "add") == 0) {
		c->cmd = "root add";
		return mf_cli_root_cmd(c, argc - 1, argv + 1, 1);
	}
	if (argc >= 2 && strcmp(argv[1], "retire") == 0)
		return mf_cli_root_retire_cmd(c, argc - 1, argv + 1);
	return mf_cli_usage(c, "init|add|retire [OPTIONS]");
}

static int
mf_cli_int_cmd(struct mf_cli *c, int argc, char **argv, int cross)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ "key-type", required_argument, NULL, 't' },
		{ "existing-key", no_argument, NULL, 'e' },
		{ "subject", required_argument, NULL, 's' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *use = cross ? "--root OTHER [--name NAME] [--lifetime 1y] [--out FILE]" :
	    "[--root NAME] [--name NAME] [--key-type T] [--existing-key] [--subject DN] [--lifetime 1y]";
	const char *name = NULL, *rootname = NULL, *subject = NULL, *out = NULL, *what = "";
	const struct mf_ca_conf *ic, *root;
	int64_t lifetime = MF_INT_LIFETIME;
	int ch, rc, ex, keytype = MF_KEY_EC_P256;
	char dn[256], *outbuf = NULL;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'n': name = optarg; break;
		case 'r': rootname = optarg; break;
		case 's': subject = optarg; break;
		case 'o': out = optarg; break;
		case 'e': keytype = 0; break;
		case 't':
			if ((ex = mf_cli_keytype_opt(c, optarg, &keytype)) != MF_EXIT_OK)
				return ex;
			break;
		case 'l':
			if (mf_duration_parse(optarg, &lifetime) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--lifetime '%s'", optarg);
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc || (cross && rootname == NULL))
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (name == NULL)
		name = c->cfg->active_intermediate ? c->cfg->active_intermediate :
		    c->cfg->intermediates[0].name;
	if ((ic = mf_config_intermediate(c->cfg, name)) == NULL)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no intermediate '%s' in %s", name,
		    c->config_path);
	if (rootname == NULL)
		rootname = ic->root ? ic->root : c->cfg->roots[0].name;
	if ((root = mf_config_root(c->cfg, rootname)) == NULL)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no root '%s' in %s", rootname, c->config_path);
	if (cross) {
		size_t i;

		if (ic->root != NULL && strcmp(ic->root, root->name) == 0)
			return mf_cli_fail(c, MF_ERR_INVAL, "%s is already signed by %s; "
			    "cross-sign with another root", ic->name, root->name);
		if (out == NULL) {
			/* The configured cross path that names this root, else the first. */
			for (i = 0; i < ic->ncross && out == NULL; i++)
				if (strstr(ic->cross[i], root->name) != NULL)
					out = ic->cross[i];
			if (out == NULL && ic->ncross > 0)
				out = ic->cross[0];
			if (out == NULL) {
				if (asprintf(&outbuf, "%s.%s.pem", ic->cert, root->name) < 0)
					return mf_cli_fail(c, MF_ERR_NOMEM, NULL);
				out = outbuf;
			}
		}
		rc = mf_cli_cross_sign(c, ic, root, out, lifetime, &what);
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "%s: %s", ic->name, what);
			free(outbuf);
			return ex;
		}
		printf("cross-signed intermediate %s by %s: certificate %s\n", ic->name, root->name, out);
		free(outbuf);
		return MF_EXIT_OK;
	}
	if (subject == NULL) {
		snprintf(dn, sizeof(dn), "CN=mayfly issuing CA %s,O=mayfly", ic->name);
		subject = dn;
	}
	rc = mf_cli_make_intermediate(c, ic, root, keytype, subject, lifetime, &what);
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "%s: %s", ic->name, what);
	printf("made intermediate %s signed by %s: key %s, certificate %s\n", ic->name, root->name,
	    ic->key, ic->cert);
	return MF_EXIT_OK;
}

/*
 * `mayfly intermediate revoke NAME`: every logged certificate of the
 * intermediate (or only the one signed by --signed-by) goes on the signing
 * root's CRL at the next `mayfly crl root`. The issuer refuses to log
 * (so to hand out) any leaf under it from then on (MF_ERR_CA_REVOKED):
 * issuance stops until issuance.active names another intermediate.
 */
static int
mf_cli_int_revoke(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "signed-by", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "NAME [--reason keyCompromise|cACompromise|superseded|"
	    "cessationOfOperation|affiliationChanged|privilegeWithdrawn|unspecified] "
	    "[--signed-by ROOT]";
	const char *reason = "unspecified", *signed_by = NULL;
	int ch, rc, ex, code, n = 0;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'r': reason = optarg; break;
		case 's': signed_by = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind + 1 != argc)
		return mf_cli_usage(c, use);
	if ((code = mf_cli_reason(reason)) < 0)
		return mf_cli_fail(c, MF_ERR_INVAL, "unknown reason '%s'", reason);
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	rc = mf_db_ca_revoke(c->db, argv[optind], signed_by, code, (int64_t)time(NULL),
	    c->actor, &n);
	if (rc == MF_ERR_NOTFOUND)
		return mf_cli_fail(c, rc, "the log holds no intermediate '%s'%s%s", argv[optind],
		    signed_by ? " signed by " : "", signed_by ? signed_by : "");
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "intermediate %s", argv[optind]);
	printf("revoked %d certificate%s of %s (%s); publish it with `mayfly crl root` for "
	    "each root that signed them\n", n, n == 1 ? "" : "s", argv[optind],
	    mf_cli_reason_name(code));
	if (c->cfg->active_intermediate != NULL && strcmp(c->cfg->active_intermediate, argv[optind]) == 0)
		fprintf(stderr, "mayfly: warning: %s is still issuance.active in %s: "
		    "nothing will be issued until another intermediate is\n", argv[optind],
		    c->config_path);
	return MF_EXIT_OK;
}

int
mf_cli_intermediate(struct mf_cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0) {
		c->cmd = "intermediate create";
		return mf_cli_int_cmd(c, argc - 1, argv + 1, 0);
	}
	if (argc >= 2 && strcmp(argv[1], "cross-sign") == 0) {
		c->cmd = "intermediate cross-sign";
		return mf_cli_int_cmd(c, argc - 1, argv + 1, 1);
	}
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0) {
		c->cmd = "intermediate revoke";
		return mf_cli_int_revoke(c, argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return mf_cli_int_rotate_cmd(c, argc - 1, argv + 1);
	return mf_cli_usage(c, "create|cross-sign|revoke|rotate [OPTIONS]");
}
