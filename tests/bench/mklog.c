/*
 * mklog.c: mayfly-mklog, fills an issuance log with N certificates fast, so
 * that tests/bench/growth-bench.sh can measure how mayflyd and the CLI
 * behave as the log grows.
 *
 *   mayfly-mklog CONFIG N [--expired-fraction F] [--revoked-fraction R]
 *
 * CONFIG is the mayfly.yaml of a CA made by `mayfly init --keys file` (its
 * database is the log that is filled). Each certificate is real DER signed
 * by the active intermediate's key, and goes in through mf_db_cert_insert(),
 * which appends its "issue" audit row, so `mayfly audit verify` passes
 * afterwards. This is NOT issuance: there is no policy check, every leaf
 * carries the same public key (one P-256 key generated at start, to save
 * a key generation per row), no OCSP response is pre-signed, and rows are
 * committed in batches of 10,000 (one fsync each) rather than one request
 * at a time. A fraction F of the certificates expired before now (their
 * validity lies in the last 30 days), the rest are valid now for up to a
 * day; a fraction R (drawn independently) is revoked via
 * mf_db_cert_revoke() with its own audit row.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "db.h"
#include "keystore.h"
#include "mferr.h"
#include "store/sql.h"

#define MKLOG_BATCH	10000
#define MKLOG_DAY	86400

struct mklog {
	X509 *ca;
	EVP_PKEY *cakey;
	EVP_PKEY *leafkey;
	const char *ca_name;
	X509_EXTENSION *fixed[4];	/* the extensions every leaf shares, built once */
	X509_NAME *issuer;
	X509_PUBKEY *leafpub;		/* the shared key's SubjectPublicKeyInfo, encoded once */
	EVP_MD_CTX *mdctx;		/* reused for every signature */
	uint64_t rnd;			/* xorshift state for the spread, not for serials */
};

static uint64_t
mklog_rand(struct mklog *m)
{
	m->rnd ^= m->rnd << 13;
	m->rnd ^= m->rnd >> 7;
	m->rnd ^= m->rnd << 17;
	return m->rnd;
}

/* A uniform draw in [0, 1). */
static double
mklog_unit(struct mklog *m)
{
	return (double)(mklog_rand(m) >> 11) / (double)(1ULL << 53);
}

static X509_EXTENSION *
mklog_ext(X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, ca, NULL, NULL, NULL, 0);
	return X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
}

/*
 * What every leaf shares, made once: basicConstraints, keyUsage, EKU and
 * the AKI (a hash of the CA's key per leaf otherwise), the issuer name,
 * the encoded public key and the digest context. Per leaf only the
 * serial, the validity, the names and the signature differ.
 */
static int
mklog_prepare(struct mklog *m)
{
	static const struct { int nid; const char *v; } fx[4] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	size_t k;

	for (k = 0; k < 4; k++)
		if ((m->fixed[k] = mklog_ext(m->ca, fx[k].nid, fx[k].v)) == NULL)
			return -1;
	if ((m->issuer = X509_NAME_dup(X509_get_subject_name(m->ca))) == NULL ||
	    X509_PUBKEY_set(&m->leafpub, m->leafkey) != 1 ||
	    (m->mdctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	return 0;
}

static int
mklog_leaf(struct mklog *m, uint64_t i, int64_t nb, int64_t na, char *serial,
    unsigned char **der, int *derlen, char *cn, size_t cnlen)
{
	unsigned char sb[16];
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	const unsigned char *pt;
	unsigned char *ptc = NULL;
	int ptlen;
	X509_EXTENSION *se = NULL;
	char san[128];
	int rc = -1;
	size_t k;

	if (RAND_bytes(sb, sizeof(sb)) != 1)
		return -1;
	sb[0] = (sb[0] & 0x3f) | 0x40;	/* 16 octets, positive, no leading zero */
	for (k = 0; k < sizeof(sb); k++)
		snprintf(serial + 2 * k, 3, "%02x", sb[k]);
	snprintf(cn, cnlen, "h%" PRIu64 ".acme.test", i);
	snprintf(san, sizeof(san), "DNS:%s", cn);

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1)
		goto out;
	if ((bn = BN_bin2bn(sb, sizeof(sb), NULL)) == NULL ||
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_serialNumber(x, ai) != 1)
		goto out;
	if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL)
		goto out;
	if ((name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
	    -1, 0) != 1 || X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, m->issuer) != 1)
		goto out;
	/*
	 * The shared key's point goes in as bytes: X509_set_pubkey would
	 * re-encode the same key through the provider every time.
	 */
	if (X509_PUBKEY_get0_param(NULL, &pt, &ptlen, NULL, m->leafpub) != 1 ||
	    (ptc = OPENSSL_memdup(pt, (size_t)ptlen)) == NULL)
		goto out;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), ptc, ptlen) != 1)
		goto out;
	ptc = NULL;
	for (k = 0; k < 4; k++)
		if (X509_add_ext(x, m->fixed[k], -1) != 1)
			goto out;
	if ((se = mklog_ext(m->ca, NID_subject_alt_name, san)) == NULL || X509_add_ext(x, se, -1) != 1)
		goto out;
	if (EVP_MD_CTX_reset(m->mdctx) != 1 ||
	    EVP_DigestSignInit(m->mdctx, NULL, EVP_sha256(), NULL, m->cakey) != 1 ||
	    X509_sign_ctx(x, m->mdctx) <= 0)
		goto out;
	*der = NULL;
	if ((*derlen = i2d_X509(x, der)) <= 0)
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(se);
	OPENSSL_free(ptc);
	X509_NAME_free(name);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_free(x);
	return rc;
}

static int
mklog_load(struct mklog *m, const struct mf_config *cfg, struct mf_keystore *ks)
{
	const struct mf_ca_conf *ic = NULL;
	FILE *f;
	size_t i;
	int rc;

	for (i = 0; i < cfg->nintermediates; i++)
		if (cfg->active_intermediate == NULL ||
		    strcmp(cfg->intermediates[i].name, cfg->active_intermediate) == 0) {
			ic = &cfg->intermediates[i];
			break;
		}
	if (ic == NULL) {
		fprintf(stderr, "mayfly-mklog: no active intermediate in the configuration\n");
		return -1;
	}
	m->ca_name = ic->name;
	if ((f = fopen(ic->cert, "r")) == NULL) {
		fprintf(stderr, "mayfly-mklog: %s: %s\n", ic->cert, strerror(errno));
		return -1;
	}
	m->ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (m->ca == NULL) {
		fprintf(stderr, "mayfly-mklog: %s: not a PEM certificate\n", ic->cert);
		return -1;
	}
	if ((rc = mf_keystore_load(ks, ic->key, &m->cakey)) != MF_OK) {
		fprintf(stderr, "mayfly-mklog: cannot load the key of %s: %s\n", ic->name,
		    mf_strerror(rc));
		return -1;
	}
	if (X509_check_private_key(m->ca, m->cakey) != 1) {
		fprintf(stderr, "mayfly-mklog: key and certificate of %s differ\n", ic->name);
		return -1;
	}
	if ((m->leafkey = EVP_EC_gen("P-256")) == NULL) {
		fprintf(stderr, "mayfly-mklog: cannot generate the leaf key\n");
		return -1;
	}
	return 0;
}

static int
mklog_fraction(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out >= 0.0 && *out <= 1.0 ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mayfly-mklog CONFIG N [--expired-fraction F] "
	    "[--revoked-fraction R]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct mklog m = { 0 };
	struct mf_config *cfg = NULL;
	struct mf_keystore *ks = NULL;
	struct mf_db *db = NULL;
	struct mf_keystore_conf kc = { 0 };
	double fexp = 0.5, frev = 0.01;
	unsigned long long n, i, nexp = 0, nrev = 0;
	char err[512], *end;
	int64_t now;
	int rc, status = 1, inbatch = 0, a;

	if (argc < 3)
		usage();
	errno = 0;
	n = strtoull(argv[2], &end, 10);
	if (errno != 0 || end == argv[2] || *end != '\0' || n == 0 || n > 100000000ULL)
		usage();
	for (a = 3; a < argc; a += 2) {
		if (a + 1 >= argc)
			usage();
		if (strcmp(argv[a], "--expired-fraction") == 0 && mklog_fraction(argv[a + 1], &fexp) == 0)
			continue;
		if (strcmp(argv[a], "--revoked-fraction") == 0 && mklog_fraction(argv[a + 1], &frev) == 0)
			continue;
		usage();
	}
	if ((rc = mf_config_load(argv[1], &cfg, err, sizeof(err))) != MF_OK) {
		fprintf(stderr, "mayfly-mklog: %s\n", err);
		return 1;
	}
	kc.module = cfg->pkcs11_module;
	kc.pin_source = cfg->pkcs11_pin_source;
	kc.softhsm2_conf = cfg->softhsm2_conf;
	if ((rc = mf_keystore_new(&kc, &ks)) != MF_OK || mklog_load(&m, cfg, ks) != 0)
		goto out;
	if (mklog_prepare(&m) != 0) {
		fprintf(stderr, "mayfly-mklog: cannot prepare the leaf template\n");
		goto out;
	}
	if ((rc = mf_db_open(cfg->database, 0, &db)) != MF_OK) {
		fprintf(stderr, "mayfly-mklog: %s: %s\n", cfg->database,
		    mf_db_open_why(cfg->database, rc));
		goto out;
	}
	/*
	 * The per-certificate savepoint of mf_db_cert_insert() keeps its
	 * statement journal in memory, and a batch's pages stay in the cache
	 * until its commit (this process only; mayflyd's settings are its own).
	 */
	if (mf_sql_exec(mf_db_handle(db), "PRAGMA temp_store = MEMORY") != MF_SQL_OK ||
	    mf_sql_exec(mf_db_handle(db), "PRAGMA cache_size = -65536") != MF_SQL_OK)
		fprintf(stderr, "mayfly-mklog: cannot set the cache pragmas (going on)\n");
	now = (int64_t)time(NULL);
	m.rnd = (uint64_t)now * 0x9e3779b97f4a7c15ULL | 1;

	for (i = 0; i < n; i++) {
		struct mf_cert_rec r;
		char serial[2 * MF_SERIAL_MAX + 1], cn[64], subj[80], sans[80];
		unsigned char *der = NULL;
		int derlen, expired = mklog_unit(&m) < fexp, revoked = mklog_unit(&m) < frev;
		int64_t nb, na;

		/*
		 * Expired: a day's validity ending between 30 days and a minute
		 * ago. Live: issued in the last 23 hours, valid 24 hours.
		 */
		if (expired) {
			na = now - 60 - (int64_t)(mklog_unit(&m) * 29 * MKLOG_DAY);
			nb = na - MKLOG_DAY;
		} else {
			nb = now - 300 - (int64_t)(mklog_unit(&m) * 23 * 3600);
			na = nb + MKLOG_DAY;
		}
		if (!inbatch) {
			if ((rc = mf_db_begin(db)) != MF_OK)
				goto dberr;
			inbatch = 1;
		}
		if (mklog_leaf(&m, i, nb, na, serial, &der, &derlen, cn, sizeof(cn)) != 0) {
			fprintf(stderr, "mayfly-mklog: cannot build certificate %llu\n", i);
			goto out;
		}
		snprintf(subj, sizeof(subj), "CN=%s", cn);
		snprintf(sans, sizeof(sans), "DNS:%s", cn);
		memset(&r, 0, sizeof(r));
		memcpy(r.serial, serial, sizeof(r.serial));
		r.issuer = (char *)m.ca_name;
		r.subject = subj;
		r.sans = sans;
		r.profile = "server";
		r.not_before = nb;
		r.not_after = na;
		r.requester = "bench:mayfly-mklog";
		r.der = der;
		r.der_len = (size_t)derlen;
		r.issued_at = nb + 300;
		rc = mf_db_cert_insert(db, &r);
		OPENSSL_free(der);
		if (rc == MF_ERR_SERIAL_DUP) {
			i--;	/* 2^-126: draw again */
			continue;
		}
		if (rc != MF_OK)
			goto dberr;
		nexp += expired;
		if (revoked) {
			/* Revoked (keyCompromise) an hour after issuance, which is past. */
			if ((rc = mf_db_cert_revoke(db, serial, 1, nb + 3600 < now ? nb + 3600 : now,
			    "bench:mayfly-mklog")) != MF_OK)
				goto dberr;
			nrev++;
		}
		if ((i + 1) % MKLOG_BATCH == 0 || i + 1 == n) {
			if ((rc = mf_db_commit(db)) != MF_OK)
				goto dberr;
			inbatch = 0;
		}
	}
	printf("mayfly-mklog: %llu certificates (%llu expired, %llu revoked) signed by %s\n",
	    n, nexp, nrev, m.ca_name);
	status = 0;
	goto out;
dberr:
	fprintf(stderr, "mayfly-mklog: database: %s: %s\n", mf_strerror(rc), mf_db_errmsg(db));
out:
	if (inbatch)
		mf_db_rollback(db);
	mf_db_close(db);
	for (a = 0; a < 4; a++)
		X509_EXTENSION_free(m.fixed[a]);
	X509_NAME_free(m.issuer);
	X509_PUBKEY_free(m.leafpub);
	EVP_MD_CTX_free(m.mdctx);
	EVP_PKEY_free(m.leafkey);
	EVP_PKEY_free(m.cakey);
	X509_free(m.ca);
	mf_keystore_free(ks);
	mf_config_free(cfg);
	return status;
}
