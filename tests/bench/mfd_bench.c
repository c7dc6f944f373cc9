/*
 * mfd_bench.c: timing of the signing work behind mayflyd (not a test).
 *
 *   mfd_bench DIR N          sign N OCSP responses with a delegated
 *                            responder, then build a CRL with N entries,
 *                            with DIR/certs/issuing-1.pem and its file key
 *   mfd_bench --fill DIR N   add N valid certificate records for issuing-1
 *                            to DIR/mayfly.db (to time the daemon's
 *                            pre-signing of N responses through the signer)
 *   mfd_bench --issue CONF CSR N
 *                            issue N leaves for one CSR with the CA of
 *                            CONF (a mayfly.yaml), in batches of 32 per
 *                            commit, and print the time of each step:
 *                            CSR parse, policy check, sign, log, commit
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "config.h"
#include "crl.h"
#include "db.h"
#include "issuer.h"
#include "keystore.h"
#include "mferr.h"
#include "policy.h"
#include "ocspreq.h"
#include "sign.h"
#include "util.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fill(const char *dir, long n)
{
	struct mf_db *db;
	struct mf_cert_rec r;
	unsigned char s[16], der[64];
	char path[600];
	int64_t t = (int64_t)time(NULL);
	long i;
	int rc;

	snprintf(path, sizeof(path), "%s/mayfly.db", dir);
	if ((rc = mf_db_open(path, 0, &db)) != 0) {
		fprintf(stderr, "open %s: %s\n", path, mf_strerror(rc));
		return 1;
	}
	memset(&r, 0, sizeof(r));
	memset(der, 0x30, sizeof(der));
	r.issuer = (char *)"issuing-1";
	r.subject = (char *)"CN=bench";
	r.sans = (char *)"DNS:bench.example.com";
	r.profile = (char *)"server";
	r.not_before = t - 60;
	r.not_after = t + 86400;
	r.requester = (char *)"bench";
	r.der = der;
	r.der_len = sizeof(der);
	r.issued_at = t;
	for (i = 0; i < n; i++) {
		if (i % 5000 == 0 && (rc = mf_db_begin(db)) != 0)
			break;
		RAND_bytes(s, sizeof(s));
		s[0] = (s[0] & 0x7f) | 0x40;
		mf_hex(s, sizeof(s), r.serial);
		if ((rc = mf_db_cert_insert(db, &r)) != 0)
			break;
		if (i % 5000 == 4999 || i == n - 1)
			if ((rc = mf_db_commit(db)) != 0)
				break;
	}
	mf_db_close(db);
	if (rc != 0) {
		fprintf(stderr, "insert: %s\n", mf_strerror(rc));
		return 1;
	}
	printf("filled %ld records\n", n);
	return 0;
}

static int
issue_steps(const char *conf, const char *csrpath, long n)
{
	struct mf_config *cfg = NULL;
	struct mf_keystore *ks = NULL;
	struct mf_keystore_conf kc;
	struct mf_issuer *is = NULL;
	struct mf_db *db = NULL;
	unsigned char csr[8192];
	double t[5] = { 0 }, t0, t1;
	char err[512];
	size_t csrlen;
	FILE *f;
	long i;
	int rc;

	if ((f = fopen(csrpath, "rb")) == NULL)
		return 1;
	csrlen = fread(csr, 1, sizeof(csr), f);
	fclose(f);
	if ((rc = mf_config_load(conf, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(&kc, 0, sizeof(kc));
	kc.module = cfg->pkcs11_module;
	kc.pin_source = cfg->pkcs11_pin_source;
	kc.softhsm2_conf = cfg->softhsm2_conf;
	if ((rc = mf_keystore_new(&kc, &ks)) != 0 || (rc = mf_db_open(cfg->database, 0, &db)) != 0 ||
	    (rc = mf_issuer_new(cfg, ks, NULL, &is)) != 0) {
		fprintf(stderr, "set-up: %s\n", mf_strerror(rc));
		return 1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct mf_request req;
		struct mf_approved *ap = NULL;
		X509_REQ *x = NULL;
		X509 *cert = NULL;

		t0 = now_s();
		if (i % 32 == 0 && (rc = mf_db_begin(db)) != 0)
			break;
		if ((rc = mf_csr_parse(csr, csrlen, &x)) != 0)
			break;
		t1 = now_s();
		t[0] += t1 - t0;
		memset(&req, 0, sizeof(req));
		req.csr = x;
		req.requester = "bench";
		rc = mf_policy_check(cfg, &req, &ap, err, sizeof(err));
		t0 = now_s();
		t[1] += t0 - t1;
		if (rc == 0)
			rc = mf_issuer_sign(is, ap, (int64_t)time(NULL), &cert);
		t1 = now_s();
		t[2] += t1 - t0;
		if (rc == 0)
			rc = mf_issuer_log(is, db, ap, cert, (int64_t)time(NULL));
		t0 = now_s();
		t[3] += t0 - t1;
		if (rc == 0 && (i % 32 == 31 || i == n - 1))
			rc = mf_db_commit(db);
		t[4] += now_s() - t0;
		X509_free(cert);
		X509_REQ_free(x);
		mf_approved_free(ap);
	}
	if (rc != 0) {
		fprintf(stderr, "issue %ld: %s %s\n", i, mf_strerror(rc), err);
		return 1;
	}
	printf("issue_steps n=%ld us_per_cert: parse=%.1f policy=%.1f sign=%.1f log=%.1f "
	    "commit=%.1f total=%.1f\n", n, t[0] * 1e6 / n, t[1] * 1e6 / n, t[2] * 1e6 / n,
	    t[3] * 1e6 / n, t[4] * 1e6 / n, (t[0] + t[1] + t[2] + t[3] + t[4]) * 1e6 / n);
	mf_issuer_free(is);
	mf_db_close(db);
	mf_keystore_free(ks);
	mf_config_free(cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	X509 *ca = NULL, *rc_cert = NULL;
	EVP_PKEY *cakey = NULL, *rkey;
	struct mfd_ocsp_in in;
	struct mf_crl_entry *e;
	unsigned char serial[16], *der;
	size_t len, total = 0;
	char path[600];
	FILE *f;
	double t0, t;
	long n, i;
	int64_t now = (int64_t)time(NULL);

	if (argc == 5 && strcmp(argv[1], "--issue") == 0)
		return issue_steps(argv[2], argv[3], atol(argv[4]));
	if (argc == 4 && strcmp(argv[1], "--fill") == 0)
		return fill(argv[2], atol(argv[3]));
	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: mfd_bench DIR N | mfd_bench --fill DIR N | "
		    "mfd_bench --issue CONF CSR N\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/certs/issuing-1.pem", argv[1]);
	if ((f = fopen(path, "r")) != NULL) {
		ca = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/keys/issuing-1.key", argv[1]);
	if ((f = fopen(path, "r")) != NULL) {
		cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (ca == NULL || cakey == NULL || (rkey = EVP_EC_gen("P-256")) == NULL ||
	    mfd_responder_cert(ca, cakey, rkey, "bench", now, 4 * 86400, &rc_cert) != 0) {
		fprintf(stderr, "cannot load %s/certs/issuing-1.pem and its key\n", argv[1]);
		return 1;
	}
	memset(&in, 0, sizeof(in));
	in.issuer = ca;
	in.signer = rc_cert;
	in.key = rkey;
	in.alg = MFD_ALG_SHA1;
	in.serial = serial;
	in.serial_len = sizeof(serial);
	in.status = V_OCSP_CERTSTATUS_GOOD;
	in.this_update = now;
	in.next_update = now + 4 * 3600;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		RAND_bytes(serial, sizeof(serial));
		serial[0] = (serial[0] & 0x7f) | 0x40;
		if (mfd_ocsp_sign(&in, &der, &len) != 0) {
			fprintf(stderr, "signing failed\n");
			return 1;
		}
		total += len;
		free(der);
	}
	t = now_s() - t0;
	printf("ocsp_sign responses=%ld seconds=%.3f per_second=%.0f avg_bytes=%zu\n", n, t,
	    (double)n / t, total / (size_t)n);

	if ((e = calloc((size_t)n, sizeof(*e))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		RAND_bytes(e[i].serial, 16);
		e[i].serial[0] = (e[i].serial[0] & 0x7f) | 0x40;
		e[i].serial_len = 16;
		e[i].revoked_at = now - (i % 86400);
		e[i].reason = (int)(i % 6);
	}
	t0 = now_s();
	if (mf_crl_build(ca, cakey, e, (size_t)n, 1, now, 86400, &der, &len) != 0) {
		fprintf(stderr, "CRL build failed\n");
		return 1;
	}
	t = now_s() - t0;
	printf("crl_build entries=%ld seconds=%.3f bytes=%zu\n", n, t, len);
	free(der);
	free(e);
	X509_free(ca);
	X509_free(rc_cert);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(rkey);
	return 0;
}
