/*
 * check_acme_jws.c: the JWS layer of the ACME server against JWS made by
 * an independent signer (tests/acme/tc.c): every algorithm round-trips,
 * and every malformed or forged shape is refused with its exact code.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "acme/acme_int.h"
#include "util.h"
#include "acme/acme_jws.h"
#include "issuer.h"
#include "mferr.h"
#include "suites_acme.h"
#include "tc.h"

#define URL "https://127.0.0.1:8443/new-account"

static int
parse_verify(const char *body, int flags, const json_t *key)
{
	struct mf_jws *j = NULL;
	char why[200];
	int rc;

	rc = mf_jws_parse(body, strlen(body), flags, &j, why, sizeof(why));
	if (rc == 0)
		rc = mf_jws_verify(j, key ? key : j->jwk);
	mf_jws_free(j);
	return rc;
}

static void
roundtrip(const char *alg)
{
	struct tc_key *k = tc_key_new(alg);
	struct mf_jws *j = NULL;
	char *body, why[200];

	ck_assert_ptr_nonnull(k);
	body = tc_sign(k, URL, "abc", NULL, "{\"contact\":[]}");
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(mf_jws_parse(body, strlen(body), 0, &j, why, sizeof(why)), 0);
	ck_assert_str_eq(j->alg, alg);
	ck_assert_str_eq(j->url, URL);
	ck_assert_str_eq(j->nonce, "abc");
	ck_assert_ptr_nonnull(j->body);
	ck_assert_int_eq(mf_jwk_check(j->jwk, why, sizeof(why)), 0);
	ck_assert_int_eq(mf_jws_verify(j, j->jwk), 0);
	mf_jws_free(j);
	free(body);
	tc_key_free(k);
}

START_TEST(t_roundtrip_es256) { roundtrip("ES256"); }
END_TEST
START_TEST(t_roundtrip_es384) { roundtrip("ES384"); }
END_TEST
START_TEST(t_roundtrip_rs256) { roundtrip("RS256"); }
END_TEST
START_TEST(t_roundtrip_eddsa) { roundtrip("EdDSA"); }
END_TEST

/* Replaces the payload of a signed JWS: the signature must no longer verify. */
START_TEST(t_tampered_payload)
{
	const char *algs[] = { "ES256", "RS256", "EdDSA" };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct tc_key *k = tc_key_new(algs[i]);
		json_t *j = tc_sign_json(k, URL, "n", NULL, "{\"a\":1}");
		char *s;

		json_object_set_new(j, "payload", json_string("eyJhIjoyfQ"));	/* {"a":2} */
		s = json_dumps(j, JSON_COMPACT);
		ck_assert_int_eq(parse_verify(s, 0, NULL), MF_ERR_ACME_SIGNATURE);
		free(s);
		json_decref(j);
		tc_key_free(k);
	}
}
END_TEST

/* A valid signature by another key must not verify under this key. */
START_TEST(t_wrong_key)
{
	struct tc_key *k1 = tc_key_new("ES256"), *k2 = tc_key_new("ES256");
	char *s = tc_sign(k1, URL, "n", "https://x/acct/1", "");

	ck_assert_int_eq(parse_verify(s, 0, k2->pub), MF_ERR_ACME_SIGNATURE);
	ck_assert_int_eq(parse_verify(s, 0, k1->pub), 0);
	free(s);
	tc_key_free(k1);
	tc_key_free(k2);
}
END_TEST

/*
 * mf_jws_verify_pkey checks with the key it is given, and that key must be
 * the kind the JWK and the algorithm name; the key cache hands out the key
 * of the exact (account, thumbprint) it holds, and nothing after a drop.
 */
START_TEST(t_verify_pkey_and_cache)
{
	const char *algs[] = { "ES256", "ES384", "RS256", "EdDSA" };
	struct tc_key *k = tc_key_new("ES256"), *k2 = tc_key_new("ES256");
	struct tc_key *k384 = tc_key_new("ES384");
	struct mf_jwk_cache *kc = NULL;
	struct mf_jws *j = NULL;
	EVP_PKEY *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
	json_t *bad;
	char *body, why[200], tp[44], tp2[44];
	unsigned long hits, misses;
	size_t i;

	/* Every algorithm verifies the same with a kept key as with the JWK. */
	for (i = 0; i < 4; i++) {
		struct tc_key *ka = tc_key_new(algs[i]);

		body = tc_sign(ka, URL, "n", NULL, "{}");
		ck_assert_int_eq(mf_jws_parse(body, strlen(body), 0, &j, why, sizeof(why)), 0);
		ck_assert_int_eq(mf_jwk_to_pkey(ka->pub, &p1), 0);
		ck_assert_int_eq(mf_jws_verify_pkey(j, ka->pub, p1), 0);
		EVP_PKEY_free(p1);
		p1 = NULL;
		mf_jws_free(j);
		j = NULL;
		free(body);
		tc_key_free(ka);
	}

	body = tc_sign(k, URL, "n", "https://x/acct/1", "");
	ck_assert_int_eq(mf_jws_parse(body, strlen(body), 0, &j, why, sizeof(why)), 0);
	/* Another key of the right kind: no; a P-384 key under a P-256 JWK: no. */
	ck_assert_int_eq(mf_jws_verify_pkey(j, k->pub, k2->pkey), MF_ERR_ACME_SIGNATURE);
	ck_assert_int_eq(mf_jws_verify_pkey(j, k->pub, k384->pkey), MF_ERR_ACME_BADALG);
	ck_assert_int_eq(mf_jws_verify_pkey(j, k384->pub, k->pkey), MF_ERR_ACME_BADALG);
	ck_assert_int_eq(mf_jws_verify_pkey(j, k->pub, k->pkey), 0);

	ck_assert_int_eq(mf_jwk_thumbprint(k->pub, tp), 0);
	ck_assert_int_eq(mf_jwk_thumbprint(k2->pub, tp2), 0);
	ck_assert_int_eq(mf_jwk_cache_new(4, &kc), 0);
	ck_assert_int_eq(mf_jwk_cache_get(kc, "acct1", tp, k->pub, &p1), 0);
	ck_assert_int_eq(mf_jwk_cache_get(kc, "acct1", tp, k->pub, &p2), 0);
	ck_assert_ptr_eq(p1, p2);	/* kept */
	ck_assert_int_eq(mf_jws_verify_pkey(j, k->pub, p2), 0);
	EVP_PKEY_free(p2);
	/* The same account with another thumbprint (a rolled-over key): rebuilt. */
	ck_assert_int_eq(mf_jwk_cache_get(kc, "acct1", tp2, k2->pub, &p2), 0);
	ck_assert_ptr_ne(p1, p2);
	ck_assert_int_eq(mf_jws_verify_pkey(j, k2->pub, p2), MF_ERR_ACME_SIGNATURE);
	EVP_PKEY_free(p2);
	/* After a drop, the next lookup builds the key again. */
	mf_jwk_cache_drop(kc, "acct1");
	ck_assert_int_eq(mf_jwk_cache_get(kc, "acct1", tp2, k2->pub, &p3), 0);
	mf_jwk_cache_stats(kc, &hits, &misses);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(misses, 3);
	/* A key the JWK does not describe is not cached. */
	bad = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", "AAAA",
	    "y", "AAAA");
	ck_assert_int_eq(mf_jwk_cache_get(kc, "acct2", tp, bad, &p4), MF_ERR_ACME_BADKEY);
	ck_assert_ptr_null(p4);
	json_decref(bad);

	EVP_PKEY_free(p1);	/* still valid after its slot was replaced */
	EVP_PKEY_free(p3);
	mf_jwk_cache_free(kc);
	mf_jws_free(j);
	free(body);
	tc_key_free(k);
	tc_key_free(k2);
	tc_key_free(k384);
}
END_TEST

static char *
with_header(const char *hdr_json, const char *payload)
{
	json_t *j;
	char *h, *p, *s;

	h = mf_b64u_encode((const unsigned char *)hdr_json, strlen(hdr_json));
	p = mf_b64u_encode((const unsigned char *)payload, strlen(payload));
	j = json_pack("{s:s, s:s, s:s}", "protected", h, "payload", p, "signature", "AAAA");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(h);
	free(p);
	return s;
}

START_TEST(t_alg_none_and_hmac)
{
	char *s = with_header("{\"alg\":\"none\",\"url\":\"u\",\"nonce\":\"n\",\"kid\":\"k\"}", "");
	char *t = with_header("{\"alg\":\"HS256\",\"url\":\"u\",\"nonce\":\"n\",\"kid\":\"k\"}", "");

	ck_assert_int_eq(parse_verify(s, 0, NULL), MF_ERR_ACME_BADALG);
	ck_assert_int_eq(parse_verify(t, 0, NULL), MF_ERR_ACME_BADALG);
	free(s);
	free(t);
}
END_TEST

START_TEST(t_unknown_members)
{
	struct tc_key *k = tc_key_new("ES256");
	json_t *j = tc_sign_json(k, URL, "n", NULL, "{}");
	char *s, *t, *u;

	/* An unprotected header is forbidden by RFC 8555 6.2. */
	json_object_set_new(j, "header", json_pack("{s:s}", "kid", "x"));
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_int_eq(parse_verify(s, 0, NULL), MF_ERR_ACME_MALFORMED);
	json_object_del(j, "header");
	json_object_set_new(j, "extra", json_string("x"));
	t = json_dumps(j, JSON_COMPACT);
	ck_assert_int_eq(parse_verify(t, 0, NULL), MF_ERR_ACME_MALFORMED);
	/* A "crit" extension we do not implement must be refused, not ignored. */
	u = with_header("{\"alg\":\"ES256\",\"url\":\"u\",\"nonce\":\"n\",\"kid\":\"k\","
	    "\"crit\":[\"b64\"],\"b64\":false}", "");
	ck_assert_int_eq(parse_verify(u, 0, NULL), MF_ERR_ACME_MALFORMED);
	free(s);
	free(t);
	free(u);
	json_decref(j);
	tc_key_free(k);
}
END_TEST

START_TEST(t_header_rules)
{
	char *both = with_header("{\"alg\":\"ES256\",\"url\":\"u\",\"nonce\":\"n\",\"kid\":\"k\","
	    "\"jwk\":{\"kty\":\"EC\"}}", "");
	char *neither = with_header("{\"alg\":\"ES256\",\"url\":\"u\",\"nonce\":\"n\"}", "");
	char *nourl = with_header("{\"alg\":\"ES256\",\"nonce\":\"n\",\"kid\":\"k\"}", "");
	char *nononce = with_header("{\"alg\":\"ES256\",\"url\":\"u\",\"kid\":\"k\"}", "");
	char *dup = with_header("{\"alg\":\"ES256\",\"alg\":\"ES256\",\"url\":\"u\",\"nonce\":\"n\","
	    "\"kid\":\"k\"}", "");
	char *notjson = with_header("{\"alg\":\"ES256\",\"url\":\"u\",\"nonce\":\"n\",\"kid\":\"k\"}",
	    "[1,2]");

	ck_assert_int_eq(parse_verify(both, 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify(neither, 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify(nourl, 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify(nononce, 0, NULL), MF_ERR_ACME_BADNONCE);
	/* An inner JWS (key change) carries no nonce and is accepted up to the signature. */
	ck_assert_int_eq(parse_verify(nononce, MF_JWS_INNER, NULL), MF_ERR_ACME_BADALG);
	ck_assert_int_eq(parse_verify(dup, 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify(notjson, 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify("not json", 0, NULL), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(parse_verify("[]", 0, NULL), MF_ERR_ACME_MALFORMED);
	free(both);
	free(neither);
	free(nourl);
	free(nononce);
	free(dup);
	free(notjson);
}
END_TEST

/* ES256 in the header with a P-384 key must not pass as either. */
START_TEST(t_alg_key_mismatch)
{
	struct tc_key *k = tc_key_new("ES384");
	char *s;

	strcpy(k->alg, "ES256");
	s = tc_sign(k, URL, "n", NULL, "");
	/* libjose refuses to sign ES256 with P-384; fall back to checking verify directly. */
	if (s != NULL)
		ck_assert_int_eq(parse_verify(s, 0, NULL), MF_ERR_ACME_BADALG);
	else {
		struct tc_key *k2 = tc_key_new("ES256");
		char *s2 = tc_sign(k2, URL, "n", NULL, "");

		ck_assert_int_eq(parse_verify(s2, 0, k->pub), MF_ERR_ACME_BADALG);
		free(s2);
		tc_key_free(k2);
	}
	free(s);
	tc_key_free(k);
}
END_TEST

START_TEST(t_jwk_check)
{
	struct tc_key *k = tc_key_new("ES256");
	char why[200];
	json_t *weak;
	EVP_PKEY *pk;
	struct tc_key *rk;

	/* The private half must never be accepted as an account key. */
	ck_assert_int_eq(mf_jwk_check(k->priv, why, sizeof(why)), MF_ERR_ACME_BADKEY);
	ck_assert_int_eq(mf_jwk_check(k->pub, why, sizeof(why)), 0);
	weak = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
	ck_assert_int_eq(mf_jwk_check(weak, why, sizeof(why)), MF_ERR_ACME_BADKEY);
	json_decref(weak);
	weak = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "y",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ck_assert_int_eq(mf_jwk_check(weak, why, sizeof(why)), MF_ERR_ACME_BADKEY);
	json_decref(weak);
	pk = EVP_RSA_gen(1024);
	rk = tc_key_from_pkey(pk);
	ck_assert_int_eq(mf_jwk_check(rk->pub, why, sizeof(why)), MF_ERR_ACME_BADKEY);
	tc_key_free(rk);
	EVP_PKEY_free(pk);
	tc_key_free(k);
}
END_TEST

/* RFC 7638 3.1: the example RSA key and its thumbprint. */
START_TEST(t_thumbprint_rfc7638)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "alg", "RS256",
	    "n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
	    "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-6"
	    "5YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
	    "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD"
	    "Kgw");
	char tp[44];

	ck_assert_int_eq(mf_jwk_thumbprint(jwk, tp), 0);
	ck_assert_str_eq(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_decref(jwk);
}
END_TEST

START_TEST(t_eab_hmac)
{
	unsigned char key[32], bad[32];
	struct mf_jws *j = NULL;
	json_t *eab;
	char why[200];

	memset(key, 0x42, sizeof(key));
	memset(bad, 0x43, sizeof(bad));
	eab = tc_sign_hmac(key, sizeof(key), "kid-1", URL, "{\"kty\":\"EC\"}");
	ck_assert_ptr_nonnull(eab);
	ck_assert_int_eq(mf_jws_parse_json(eab, MF_JWS_INNER | MF_JWS_HMAC, &j, why, sizeof(why)), 0);
	ck_assert_int_eq(mf_jws_verify_hmac(j, key, sizeof(key)), 0);
	ck_assert_int_eq(mf_jws_verify_hmac(j, bad, sizeof(bad)), MF_ERR_ACME_EAB);
	mf_jws_free(j);
	/* Without MF_JWS_HMAC an HS256 JWS is not an account signature. */
	ck_assert_int_eq(mf_jws_parse_json(eab, MF_JWS_INNER, &j, why, sizeof(why)),
	    MF_ERR_ACME_BADALG);
	json_decref(eab);
}
END_TEST

START_TEST(t_b64u)
{
	unsigned char *out;
	size_t len;

	ck_assert_int_eq(mf_b64u_decode("aGk", &out, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(out, "hi", 2), 0);
	free(out);
	ck_assert_int_eq(mf_b64u_decode("aGk=", &out, &len), MF_ERR_ACME_MALFORMED);
	ck_assert_int_eq(mf_b64u_decode("a+/k", &out, &len), MF_ERR_ACME_MALFORMED);
}
END_TEST

/* acme_der_serial reads the serial as mf_serial_hex prints it, v1 or v3, without decoding. */
START_TEST(t_der_serial)
{
	static const unsigned char serials[][17] = {
		{ 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },	/* needs a 00 */
		{ 0x00, 0x00, 0x7f },						/* leading zeros */
		{ 0x01 },
	};
	static const size_t lens[] = { 16, 3, 1 };
	EVP_PKEY *k = EVP_EC_gen("P-256");
	unsigned char *der = NULL;
	char want[64], got[64];
	size_t i, v;
	int n;

	ck_assert_ptr_nonnull(k);
	for (i = 0; i < 3; i++)
		for (v = 0; v < 2; v++) {
			X509 *x = X509_new();
			BIGNUM *bn = BN_bin2bn(serials[i], (int)lens[i], NULL);

			ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
			ck_assert_int_eq(X509_set_version(x, v == 0 ? X509_VERSION_1 : X509_VERSION_3), 1);
			X509_gmtime_adj(X509_getm_notBefore(x), 0);
			X509_gmtime_adj(X509_getm_notAfter(x), 60);
			ck_assert_int_eq(X509_set_pubkey(x, k), 1);
			ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
			ck_assert_int_gt(n = i2d_X509(x, &der), 0);
			ck_assert_int_eq(mf_serial_hex(X509_get0_serialNumber(x), want, sizeof(want)), 0);
			ck_assert_int_eq(acme_der_serial(der, (size_t)n, got, sizeof(got)), 0);
			ck_assert_str_eq(got, want);
			/* Truncated, too small a buffer, not a certificate: refused. */
			ck_assert_int_eq(acme_der_serial(der, 5, got, sizeof(got)), MF_ERR_INVAL);
			ck_assert_int_eq(acme_der_serial(der, (size_t)n, got, 2), MF_ERR_INVAL);
			der[0] = 0x31;
			ck_assert_int_eq(acme_der_serial(der, (size_t)n, got, sizeof(got)), MF_ERR_INVAL);
			OPENSSL_free(der);
			der = NULL;
			BN_free(bn);
			X509_free(x);
		}
	EVP_PKEY_free(k);
}
END_TEST

/*
 * After a CA outage every server's renewal window has passed. The windows
 * ARI then suggests must not all open at the same second: 1,000 servers
 * that renew as soon as their window opens arrive spread over the window.
 */
START_TEST(t_ari_spread_after_outage)
{
	const int64_t day = 86400, nb = 1800000000, now = nb + 20 * 3600;
	/* The usual width, at most a quarter of the 4 hours left: 1 hour. */
	int64_t start, end, width = day / 10 < (nb + day - now) / 4 ? day / 10 : (nb + day - now) / 4;
	unsigned hist[10] = { 0 };
	unsigned char r[16];
	char serial[33];
	int i, b;

	/* A window not yet passed is the usual one, the same for everyone. */
	acme_ari_window(nb, nb + day, 0, nb + 3600, "01", &start, &end);
	ck_assert_int_eq(start, nb + day * 2 / 3 - day / 20);
	ck_assert_int_eq(end, nb + day * 2 / 3 + day / 20);
	/* Revoked: already open. */
	acme_ari_window(nb, nb + day, 1, now, "01", &start, &end);
	ck_assert_int_lt(end, now);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(RAND_bytes(r, sizeof(r)), 1);
		mf_hex(r, sizeof(r), serial);
		acme_ari_window(nb, nb + day, 0, now, serial, &start, &end);
		ck_assert_int_ge(start, now);
		ck_assert_int_eq(end - start, width);
		ck_assert_int_le(end, nb + day);
		b = (int)((start - now) * 10 / width);
		ck_assert_int_lt(b, 10);
		hist[b]++;
	}
	fprintf(stderr, "ARI after an outage, 1000 servers renewing when their window opens:\n");
	for (b = 0; b < 10; b++) {
		fprintf(stderr, "  +%4lld min  %4u  ", (long long)(b * width / 10 / 60), hist[b]);
		for (i = 0; i < (int)hist[b] / 5; i++)
			fputc('#', stderr);
		fputc('\n', stderr);
		/* 100 expected per tenth; a uniform spread stays well inside 50..150. */
		ck_assert_msg(hist[b] >= 50 && hist[b] <= 150, "tenth %d holds %u of 1000", b,
		    hist[b]);
	}
}
END_TEST

Suite *
suite_acme_jws(void)
{
	Suite *s = suite_create("acme_jws");
	TCase *tc = tcase_create("jws");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, t_roundtrip_es256);
	tcase_add_test(tc, t_roundtrip_es384);
	tcase_add_test(tc, t_roundtrip_rs256);
	tcase_add_test(tc, t_roundtrip_eddsa);
	tcase_add_test(tc, t_tampered_payload);
	tcase_add_test(tc, t_wrong_key);
	tcase_add_test(tc, t_verify_pkey_and_cache);
	tcase_add_test(tc, t_alg_none_and_hmac);
	tcase_add_test(tc, t_unknown_members);
	tcase_add_test(tc, t_header_rules);
	tcase_add_test(tc, t_alg_key_mismatch);
	tcase_add_test(tc, t_jwk_check);
	tcase_add_test(tc, t_thumbprint_rfc7638);
	tcase_add_test(tc, t_eab_hmac);
	tcase_add_test(tc, t_b64u);
	tcase_add_test(tc, t_der_serial);
	tcase_add_test(tc, t_ari_spread_after_outage);
	suite_add_tcase(s, tc);
	return s;
}
