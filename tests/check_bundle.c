/*
 * check_bundle.c: the CA's side of trust bundles (bundle.c, db_bundle.c).
 * Bundles are built and signed here with real keys (EC P-256, RSA 3072,
 * Ed25519) and then judged by the device library itself, so that the
 * encoder is held to what devices accept, not to its own reader.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "db.h"
#include "store/sql.h"
#include "fixtures.h"
#include "mferr.h"
#include "suites.h"
#include "util.h"
#include "verify/mayfly_verify.h"

/* A self-signed root with a fresh key of the given type. */
static void
make_root(const char *type, EVP_PKEY **key, X509 **cert)
{
	X509_NAME *n;

	if (strcmp(type, "ec") == 0)
		*key = EVP_EC_gen("P-256");
	else if (strcmp(type, "rsa") == 0)
		*key = EVP_RSA_gen(3072);
	else
		*key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(*key);
	*cert = X509_new();
	ck_assert_ptr_nonnull(*cert);
	ck_assert_int_eq(X509_set_version(*cert, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(*cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(*cert), 86400);
	n = X509_get_subject_name(*cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)type, -1, -1, 0);
	X509_set_issuer_name(*cert, n);
	X509_set_pubkey(*cert, *key);
	ck_assert_int_gt(X509_sign(*cert, *key, strcmp(type, "ed") == 0 ? NULL : EVP_sha256()), 0);
}

struct roots {
	EVP_PKEY *key[3];
	X509 *cert[3];
	unsigned char pin[3][32];
};

static void
roots_make(struct roots *r)
{
	static const char *types[3] = { "ec", "rsa", "ed" };
	int i;

	for (i = 0; i < 3; i++) {
		make_root(types[i], &r->key[i], &r->cert[i]);
		ck_assert_int_eq(mf_bundle_pin_cert(r->cert[i], r->pin[i]), MF_OK);
	}
}

static void
roots_free(struct roots *r)
{
	int i;

	for (i = 0; i < 3; i++) {
		EVP_PKEY_free(r->key[i]);
		X509_free(r->cert[i]);
	}
}

/* What a device holding pins (threshold 1) says about der. */
static int
device_apply(const unsigned char (*pins)[32], size_t n, const unsigned char *der, size_t len)
{
	struct mfv_ctx ctx;
	struct mfv_buf in = { der, len };
	size_t i;

	mfv_init(&ctx);
	mfv_set_time(&ctx, (int64_t)time(NULL));
	for (i = 0; i < n; i++)
		ck_assert_int_eq(mfv_add_root(&ctx, pins[i]), 0);
	return mfv_bundle_apply(&ctx, &in, 1, NULL);
}

START_TEST(roundtrip_and_device)
{
	struct roots r;
	struct mf_bundle *b = NULL, *p = NULL;
	unsigned char *der = NULL;
	size_t len;
	int64_t now = (int64_t)time(NULL);
	int i;

	roots_make(&r);
	ck_assert_int_eq(mf_bundle_new(7, now, now + 3600, 2, (const unsigned char (*)[32])r.pin, 3,
	    &b), MF_OK);
	/* Unsigned: the CA reads it back; a device refuses it. */
	ck_assert_int_eq(mf_bundle_encode(b, &der, &len), MF_OK);
	ck_assert_int_eq(mf_bundle_parse(der, len, &p), MF_OK);
	ck_assert_uint_eq(p->nsigs, 0);
	ck_assert_int_eq(device_apply((const unsigned char (*)[32])r.pin, 3, der, len),
	    MFV_ERR_BUNDLE_MALFORMED);
	mf_bundle_free(p);
	free(der);
	/* One signature per key type; each one alone satisfies the device. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(mf_bundle_sign(b, r.cert[i], r.key[i]), MF_OK);
	ck_assert_int_eq(mf_bundle_sign(b, r.cert[1], r.key[1]), MF_ERR_BUNDLE_SIGNED);
	ck_assert_int_eq(mf_bundle_encode(b, &der, &len), MF_OK);
	for (i = 0; i < 3; i++)
		ck_assert_msg(device_apply((const unsigned char (*)[32])r.pin + i, 1, der, len) == 0,
		    "signature %d refused", i);
	ck_assert_int_eq(mf_bundle_parse(der, len, &p), MF_OK);
	ck_assert_uint_eq(p->version, 7);
	ck_assert_uint_eq(p->threshold, 2);
	ck_assert_int_eq(p->issued_at, now);
	ck_assert_int_eq(p->not_after, now + 3600);
	ck_assert_uint_eq(p->nroots, 3);
	ck_assert_uint_eq(p->nsigs, 3);
	ck_assert(memcmp(p->roots, r.pin, sizeof(r.pin)) == 0);
	ck_assert_uint_eq(p->tbs_len, b->tbs_len);
	ck_assert(memcmp(p->tbs, b->tbs, b->tbs_len) == 0);
	ck_assert_int_eq(mf_bundle_pin_matches(r.cert[0], p->roots[0]), 1);
	ck_assert_int_eq(mf_bundle_pin_matches(r.cert[0], p->roots[1]), 0);
	/* A changed byte inside what was signed: the last octet of the first pin. */
	{
		unsigned char *at = memmem(der, len, r.pin[0], 32);

		ck_assert_ptr_nonnull(at);
		at[31] ^= 1;
	}
	ck_assert_int_eq(device_apply((const unsigned char (*)[32])r.pin, 1, der, len),
	    MFV_ERR_BAD_SIGNATURE);
	mf_bundle_free(p);
	mf_bundle_free(b);
	free(der);
	roots_free(&r);
}
END_TEST

START_TEST(new_refuses)
{
	unsigned char pins[9][32];
	struct mf_bundle *b = NULL;
	int64_t now = (int64_t)time(NULL);
	int i;

	for (i = 0; i < 9; i++)
		memset(pins[i], i + 1, 32);
	ck_assert_int_eq(mf_bundle_new(0, now, 0, 1, (const unsigned char (*)[32])pins, 2, &b),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_bundle_new(1, now, 0, 3, (const unsigned char (*)[32])pins, 2, &b),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_bundle_new(1, now, 0, 0, (const unsigned char (*)[32])pins, 2, &b),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_bundle_new(1, now, 0, 1, (const unsigned char (*)[32])pins, 9, &b),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_bundle_new(1, now, now, 1, (const unsigned char (*)[32])pins, 2, &b),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_bundle_new(0x80000000u, now, 0, 1, (const unsigned char (*)[32])pins,
	    2, &b), MF_ERR_INVAL);
	memcpy(pins[1], pins[0], 32);
	ck_assert_int_eq(mf_bundle_new(1, now, 0, 1, (const unsigned char (*)[32])pins, 2, &b),
	    MF_ERR_INVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(mf_bundle_new(0x7fffffffu, now, 0, 8, (const unsigned char (*)[32])pins + 1,
	    8, &b), MF_OK);
	mf_bundle_free(b);
}
END_TEST

START_TEST(parse_refuses)
{
	unsigned char pins[2][32], *der = NULL, *bad;
	struct mf_bundle *b = NULL, *p = NULL;
	size_t len;

	memset(pins[0], 0xaa, 32);
	memset(pins[1], 0xbb, 32);
	ck_assert_int_eq(mf_bundle_new(300, (int64_t)time(NULL), 0, 2,
	    (const unsigned char (*)[32])pins, 2, &b), MF_OK);
	ck_assert_int_eq(mf_bundle_encode(b, &der, &len), MF_OK);
	ck_assert_int_eq(mf_bundle_parse(der, len, &p), MF_OK);
	ck_assert_uint_eq(p->version, 300);
	mf_bundle_free(p);
	p = NULL;
	bad = malloc(len + 1);
	ck_assert_ptr_nonnull(bad);
	/* A trailing byte; a truncated file. */
	memcpy(bad, der, len);
	bad[len] = 0;
	ck_assert_int_eq(mf_bundle_parse(bad, len + 1, &p), MF_ERR_BUNDLE_MALFORMED);
	ck_assert_int_eq(mf_bundle_parse(der, len - 1, &p), MF_ERR_BUNDLE_MALFORMED);
	/* format 2: outer SEQUENCE (2 octets of header), tbs SEQUENCE (2 or 3), INTEGER 1. */
	memcpy(bad, der, len);
	ck_assert_int_eq(bad[0], 0x30);
	{
		size_t at = 2 + (bad[1] & 0x80 ? bad[1] & 0x7f : 0);

		at += 2 + (bad[at + 1] & 0x80 ? bad[at + 1] & 0x7f : 0);
		ck_assert_int_eq(bad[at], 0x02);
		ck_assert_int_eq(bad[at + 2], 0x01);
		bad[at + 2] = 0x02;
		ck_assert_int_eq(mf_bundle_parse(bad, len, &p), MF_ERR_BUNDLE_MALFORMED);
	}
	ck_assert_int_eq(mf_bundle_parse(NULL, 0, &p), MF_ERR_BUNDLE_MALFORMED);
	ck_assert_ptr_null(p);
	free(bad);
	free(der);
	mf_bundle_free(b);
}
END_TEST

/*
 * A GeneralizedTime whose day does not exist (31 February, 29 February of a
 * common year) or of year 0 is malformed, as on devices: before, timegm()
 * moved it silently to another date (found by tests/fuzz/bundle_parse.c).
 */
START_TEST(parse_refuses_bad_dates)
{
	static const struct {
		const char *t;
		int rc;
	} cases[] = {
		{ "20260231000000Z", MF_ERR_BUNDLE_MALFORMED },
		{ "20250229120000Z", MF_ERR_BUNDLE_MALFORMED },
		{ "21000229120000Z", MF_ERR_BUNDLE_MALFORMED },
		{ "20260431000000Z", MF_ERR_BUNDLE_MALFORMED },
		{ "00000101000000Z", MF_ERR_BUNDLE_MALFORMED },
		{ "20240229120000Z", MF_OK },
		{ "20000229120000Z", MF_OK },
		{ "20261231235959Z", MF_OK },
	};
	unsigned char pins[1][32], *der = NULL, *at;
	struct mf_bundle *b = NULL, *p = NULL;
	size_t len, i;

	memset(pins[0], 0xaa, 32);
	/* 2026-01-01T00:00:00Z, no notAfter. */
	ck_assert_int_eq(mf_bundle_new(5, 1767225600, 0, 1, (const unsigned char (*)[32])pins, 1,
	    &b), MF_OK);
	ck_assert_int_eq(mf_bundle_encode(b, &der, &len), MF_OK);
	at = memmem(der, len, "20260101000000Z", 15);
	ck_assert_ptr_nonnull(at);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(at, cases[i].t, 15);
		ck_assert_msg(mf_bundle_parse(der, len, &p) == cases[i].rc, "%s", cases[i].t);
		mf_bundle_free(p);
		p = NULL;
	}
	free(der);
	mf_bundle_free(b);
}
END_TEST

static int
count_cb(uint32_t version, const void *der, size_t len, int64_t published_at, void *arg)
{
	uint32_t *seen = arg;

	ck_assert_uint_gt(version, *seen);
	ck_assert_uint_gt(len, 0);
	*seen = version;
	return 0;
}

START_TEST(db_versions_only_go_up)
{
	char *dir = mft_tmpdir(), *path = mf_path_join(dir, "t.db");
	unsigned char one[] = { 0x30, 0x00 }, *got = NULL;
	struct mf_db *db = NULL;
	uint32_t v = 0, seen = 0;
	size_t len;

	ck_assert_int_eq(mf_db_open(path, MF_DB_CREATE, &db), MF_OK);
	ck_assert_int_eq(mf_db_bundle_latest(db, &v), MF_OK);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(mf_db_bundle_get(db, 0, 0, &got, &len, &v), MF_ERR_NOTFOUND);
	ck_assert_int_eq(mf_db_bundle_publish(db, 2, 0, 1, one, sizeof(one), "test"), MF_OK);
	ck_assert_int_eq(mf_db_bundle_publish(db, 2, 2, 1, one, sizeof(one), "test"),
	    MF_ERR_BUNDLE_VERSION);
	ck_assert_int_eq(mf_db_bundle_publish(db, 1, 2, 1, one, sizeof(one), "test"),
	    MF_ERR_BUNDLE_VERSION);
	ck_assert_int_eq(mf_db_bundle_publish(db, 0, 2, 1, one, sizeof(one), "test"), MF_ERR_INVAL);
	/* Checked against version 0, but 2 was published since: refused. */
	ck_assert_int_eq(mf_db_bundle_publish(db, 5, 0, 1, one, sizeof(one), "test"),
	    MF_ERR_BUNDLE_VERSION);
	ck_assert_int_eq(mf_db_bundle_publish(db, 5, 2, 1, one, sizeof(one), "test"), MF_OK);
	ck_assert_int_eq(mf_db_bundle_latest(db, &v), MF_OK);
	ck_assert_uint_eq(v, 5);
	/* The newest below 5 is 2; version 3 was never published. */
	ck_assert_int_eq(mf_db_bundle_get(db, 0, 5, &got, &len, &v), MF_OK);
	ck_assert_uint_eq(v, 2);
	free(got);
	ck_assert_int_eq(mf_db_bundle_get(db, 3, 0, &got, &len, &v), MF_ERR_NOTFOUND);
	ck_assert_int_eq(mf_db_bundle_list(db, 0, count_cb, &seen), MF_OK);
	ck_assert_uint_eq(seen, 5);
	/* Even a hand-written statement cannot step back or rewrite. */
	ck_assert_int_ne(sqlite3_exec(mf_sql_sqlite(mf_db_handle(db)), "INSERT INTO trust_bundles VALUES "
	    "(4, x'3000', 'x', 0, 0, 'x')", NULL, NULL, NULL), 0);
	ck_assert_int_ne(sqlite3_exec(mf_sql_sqlite(mf_db_handle(db)), "UPDATE trust_bundles SET der = x'00'",
	    NULL, NULL, NULL), 0);
	ck_assert_int_ne(sqlite3_exec(mf_sql_sqlite(mf_db_handle(db)), "DELETE FROM trust_bundles", NULL, NULL,
	    NULL), 0);
	{
		int64_t rows = 0, bad = 0;
		char why[128];

		ck_assert_int_eq(mf_db_audit_verify(db, &rows, &bad, why, sizeof(why)), MF_OK);
		ck_assert_int_ge(rows, 2);	/* the two publishes */
	}
	mf_db_close(db);
	mft_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

Suite *
suite_bundle(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, roundtrip_and_device);
	tcase_add_test(tc, new_refuses);
	tcase_add_test(tc, parse_refuses);
	tcase_add_test(tc, parse_refuses_bad_dates);
	tcase_add_test(tc, db_versions_only_go_up);
	suite_add_tcase(s, tc);
	return s;
}
