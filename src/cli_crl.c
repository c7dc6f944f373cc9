/*
 * cli_crl.c: `mayfly crl root`, the root's CRL, made offline.
 *
 * A root key stays offline, so its CRL cannot come from the daemon: the
 * operator makes it at a ceremony, with the root's token attached, and
 * publishes the file. Intermediates carry a CRL distribution point
 * <urls.base>/crl/<root>.crl; mayflyd serves the file written here from
 * <config dir>/crl/<root>.crl. The CRL number is taken from the same
 * persisted, monotonic counter the daemon uses for its own CRLs.
 *
 * The CRL lists the CA certificates this root signed that `mayfly
 * intermediate revoke` recorded (an intermediate, or the cross-signed form
 * of another root's intermediate), with their reasons; with none it states,
 * signed and dated, that no certificate of this root is revoked.
 */
#include "mf_build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cli.h"
#include "crl.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

#define MF_ROOT_CRL_VALIDITY	(30LL * 86400)

/* Collects the revoked CA certificates of one root as CRL entries. */
struct crl_acc {
	struct mf_crl_entry *e;
	size_t n;
};

static int
crl_collect(const void *der, size_t len, int64_t revoked_at, int reason, void *arg)
{
	struct crl_acc *a = arg;
	struct mf_crl_entry *ne;
	const unsigned char *p = der;
	X509 *x;
	BIGNUM *bn = NULL;
	int rc = MF_ERR_CRYPTO;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return MF_ERR_CRYPTO;
	if ((ne = realloc(a->e, (a->n + 1) * sizeof(*ne))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	a->e = ne;
	ne = &a->e[a->n];
	memset(ne, 0, sizeof(*ne));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL ||
	    BN_is_negative(bn) || BN_num_bytes(bn) < 1 ||
	    BN_num_bytes(bn) > (int)sizeof(ne->serial))
		goto out;
	ne->serial_len = (size_t)BN_bn2bin(bn, ne->serial);
	ne->revoked_at = revoked_at;
	ne->reason = reason;
	a->n++;
	rc = MF_OK;
out:
	BN_free(bn);
	X509_free(x);
	return rc;
}

static int
mf_cli_crl_root(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "validity", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "[--name ROOT] [--validity 30d] [--out FILE]";
	const struct mf_ca_conf *root;
	const char *name = NULL, *out = NULL;
	char *outbuf = NULL, *dir = NULL, detail[256];
	int64_t validity = MF_ROOT_CRL_VALIDITY, now = (int64_t)time(NULL);
	unsigned char *der = NULL;
	size_t len = 0;
	uint64_t number;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct crl_acc acc = { NULL, 0 };
	int ch, rc, ex;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'n': name = optarg; break;
		case 'o': out = optarg; break;
		case 'v':
			if (mf_duration_parse(optarg, &validity) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--validity '%s'", optarg);
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc)
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (name == NULL)
		name = c->cfg->roots[0].name;
	if ((root = mf_config_root(c->cfg, name)) == NULL)
		return mf_cli_fail(c, MF_ERR_CA_NOTFOUND, "no root '%s' in %s", name, c->config_path);
	if ((rc = mf_cert_load(root->cert, &cert)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", root->cert);
		goto out;
	}
	if ((rc = mf_keystore_load(c->ks, root->key, &key)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", root->key);
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		ex = mf_cli_fail(c, MF_ERR_CA_MISMATCH, "%s does not match %s", root->key, root->cert);
		goto out;
	}
	if (out == NULL) {
		if ((dir = mf_path_join(c->cfg->dir, "crl")) == NULL ||
		    asprintf(&outbuf, "%s/%s.crl", dir, root->name) < 0) {
			outbuf = NULL;
			ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
			goto out;
		}
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			ex = mf_cli_fail(c, MF_ERR_IO, "cannot create %s", dir);
			goto out;
		}
		out = outbuf;
	}
	if ((rc = mf_db_crl_number_next(c->db, root->name, &number)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "CRL number");
		goto out;
	}
	if ((rc = mf_db_ca_revoked_list(c->db, root->name, crl_collect, &acc)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "revoked CA certificates of %s", root->name);
		goto out;
	}
	if ((rc = mf_crl_build(cert, key, acc.e, acc.n, number, now, validity, &der,
	    &len)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot sign the CRL");
		goto out;
	}
	if ((rc = mf_file_write(out, der, len, 0644, 0)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot write %s", out);
		goto out;
	}
	snprintf(detail, sizeof(detail), "crl root=%s number=%llu entries=%zu", root->name,
	    (unsigned long long)number, acc.n);
	if ((rc = mf_db_audit_append(c->db, "ceremony", c->actor, detail)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot record the CRL in the audit log");
		goto out;
	}
	printf("root CRL of %s: number %llu, %zu revoked, valid %s, %s\n", root->name,
	    (unsigned long long)number, acc.n, mf_duration_fmt(validity, detail, sizeof(detail)),
	    out);
	ex = MF_EXIT_OK;
out:
	free(der);
	free(acc.e);
	free(outbuf);
	free(dir);
	EVP_PKEY_free(key);
	X509_free(cert);
	return ex;
}

int
mf_cli_crl(struct mf_cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "root") == 0) {
		c->cmd = "crl root";
		return mf_cli_crl_root(c, argc - 1, argv + 1);
	}
	return mf_cli_usage(c, "root [OPTIONS]");
}
