/*
 * check_unit.c: unit tests of the daemon's pure parts: routing, base64 GET
 * decoding, admin bodies, OCSP request parsing, the response cache, and
 * signing of OCSP responses, CRLs and responder certificates. Test material
 * is made with the openssl CLI in a temporary directory.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "cache.h"
#include "crl.h"
#include "fixtures.h"
#include "mferr.h"
#include "mfdt.h"
#include "ocspreq.h"
#include "route.h"
#include "sign.h"
#include "util.h"

#define LEAF_SERIAL	"7a3b1c2d4e5f60718293a4b5c6d7e8f9"

int
mfdt_pki(const char *dir)
{
	char *cmd;
	int rc;

	if (asprintf(&cmd,
	    "cd '%s' && exec >pki.log 2>&1 && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
	    "-out ca.pem -subj '/CN=Test CA' -days 30 "
	    "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
	    "-out other.pem -subj '/CN=Other CA' -days 30 "
	    "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
	    "-out leaf.csr -subj '/CN=leaf.example.com' && "
	    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x" LEAF_SERIAL
	    " -out leaf.pem -days 1 && "
	    "openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req-sha1.der && "
	    "openssl ocsp -issuer ca.pem -sha256 -cert leaf.pem -no_nonce -reqout req-sha256.der && "
	    "openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req-nonce.der && "
	    "openssl ocsp -issuer ca.pem -cert leaf.pem -serial 0x1234 -no_nonce -reqout req-two.der",
	    dir) < 0)
		return -1;
	rc = mft_run(cmd, NULL);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

unsigned char *
mfdt_read(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	unsigned char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

static X509 *
mfdt_cert(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *
mfdt_key(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	EVP_PKEY *k;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* ---- routing ---------------------------------------------------------------- */

static const struct {
	const char *method, *path;
	enum mfd_endpoint ep;
	int status;
	const char *arg;
	enum mfd_ca_format fmt;
} route_cases[] = {
	{ "POST", "/ocsp", MFD_EP_OCSP_POST, 0, "", 0 },
	{ "GET", "/ocsp", MFD_EP_OCSP_GET, 0, "", 0 },
	{ "PUT", "/ocsp", MFD_EP_OCSP_GET, 405, "", 0 },
	{ "GET", "/ocsp/MEMwQTA/MD0wOzAJBgUrDgMCGgUA", MFD_EP_OCSP_GET, 0,
	    "MEMwQTA/MD0wOzAJBgUrDgMCGgUA", 0 },
	{ "HEAD", "/ocsp/abc", MFD_EP_OCSP_GET, 0, "abc", 0 },
	{ "POST", "/ocsp/abc", MFD_EP_OCSP_GET, 405, "abc", 0 },
	{ "GET", "/crl/issuing-1.crl", MFD_EP_CRL, 0, "issuing-1", 0 },
	{ "DELETE", "/crl/issuing-1.crl", MFD_EP_CRL, 405, "issuing-1", 0 },
	{ "GET", "/crl/../etc/passwd.crl", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/crl/.crl", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/crl/issuing-1", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/ca/root-a.pem", MFD_EP_CA, 0, "root-a", MFD_CA_PEM },
	{ "GET", "/ca/issuing-1.root-b.der", MFD_EP_CA, 0, "issuing-1.root-b", MFD_CA_DER },
	{ "GET", "/ca/chain.p7c", MFD_EP_CA, 0, "chain", MFD_CA_P7C },
	{ "GET", "/ca/root-a.txt", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/ca/.hidden.pem", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/ca/a/b.pem", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/health", MFD_EP_HEALTH, 0, NULL, 0 },
	{ "POST", "/health", MFD_EP_HEALTH, 405, NULL, 0 },
	{ "GET", "/metrics", MFD_EP_METRICS, 0, NULL, 0 },
	{ "POST", "/admin/revoke", MFD_EP_ADMIN_REVOKE, 0, NULL, 0 },
	{ "GET", "/admin/revoke", MFD_EP_ADMIN_REVOKE, 405, NULL, 0 },
	{ "GET", "/", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "", MFD_EP_OTHER, 404, NULL, 0 },
	{ "GET", "/healthz", MFD_EP_OTHER, 404, NULL, 0 },
};

START_TEST(test_route_table)
{
	struct mfd_route r;
	size_t i;

	for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		mfd_route_match(route_cases[i].method, route_cases[i].path, &r);
		ck_assert_msg(r.ep == route_cases[i].ep, "case %zu ep %d", i, r.ep);
		ck_assert_msg(r.status == route_cases[i].status, "case %zu status %d", i, r.status);
		if (route_cases[i].arg != NULL && r.status == 0) {
			ck_assert_uint_eq(r.arglen, strlen(route_cases[i].arg));
			ck_assert(memcmp(r.arg, route_cases[i].arg, r.arglen) == 0);
		}
		if (route_cases[i].fmt != 0)
			ck_assert_int_eq(r.fmt, route_cases[i].fmt);
	}
	mfd_route_match(NULL, "/ocsp", &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(mfd_endpoint_name(MFD_EP_OCSP_GET), "ocsp_get");
	ck_assert_str_eq(mfd_endpoint_name((enum mfd_endpoint)99), "other");
}
END_TEST

START_TEST(test_b64)
{
	unsigned char in[300], out[300];
	char enc[410], esc[1300];
	size_t n, olen, i, j;

	ck_assert(RAND_bytes(in, sizeof(in)) == 1);
	for (n = 0; n < 40; n++) {
		mfd_b64_encode(in, n, enc);
		ck_assert_int_eq(mfd_b64_decode(enc, strlen(enc), out, sizeof(out), &olen), 0);
		ck_assert_uint_eq(olen, n);
		ck_assert(memcmp(in, out, n) == 0);
	}
	/* The percent-escaped form some clients send, '/' '+' '=' escaped. */
	mfd_b64_encode(in, sizeof(in), enc);
	for (i = 0, j = 0; enc[i] != '\0'; i++) {
		if (enc[i] == '/' || enc[i] == '+' || enc[i] == '=')
			j += (size_t)sprintf(esc + j, "%%%02X", enc[i]);
		else
			esc[j++] = enc[i];
	}
	esc[j] = '\0';
	ck_assert_int_eq(mfd_b64_decode(esc, j, out, sizeof(out), &olen), 0);
	ck_assert_uint_eq(olen, sizeof(in));
	ck_assert(memcmp(in, out, olen) == 0);
	/* Failures: bad byte, data after '=', truncated escape, too long, stray bits. */
	ck_assert_int_eq(mfd_b64_decode("AB!C", 4, out, sizeof(out), &olen), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("AA==AA", 6, out, sizeof(out), &olen),
	    MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("AA%2", 4, out, sizeof(out), &olen), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("AA%zz", 5, out, sizeof(out), &olen),
	    MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode(enc, strlen(enc), out, 10, &olen), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("AB", 2, out, sizeof(out), &olen), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("A", 1, out, sizeof(out), &olen), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("AA===", 5, out, sizeof(out), &olen),
	    MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_b64_decode("", 0, out, sizeof(out), &olen), 0);
	ck_assert_uint_eq(olen, 0);
}
END_TEST

START_TEST(test_bearer_and_body)
{
	char serial[41];
	const char *t;
	size_t n;
	int reason;

	t = mfd_bearer("Bearer abc123 ", &n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(t, "abc123", 6) == 0);
	ck_assert_ptr_null(mfd_bearer("Basic abc", &n));
	ck_assert_ptr_null(mfd_bearer("Bearer    ", &n));
	ck_assert_ptr_null(mfd_bearer(NULL, &n));

	ck_assert_int_eq(mfd_revoke_body_parse("serial=0xABcd01", 15, serial, sizeof(serial),
	    &reason), 0);
	ck_assert_str_eq(serial, "abcd01");
	ck_assert_int_eq(reason, 0);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=ab&reason=1\n", 19, serial, sizeof(serial),
	    &reason), 0);
	ck_assert_int_eq(reason, 1);
	ck_assert_int_eq(mfd_revoke_body_parse("reason=1", 8, serial, sizeof(serial), &reason),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=xyz", 10, serial, sizeof(serial), &reason),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=ab&reason=7", 18, serial, sizeof(serial),
	    &reason), MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=ab&reason=11", 19, serial, sizeof(serial),
	    &reason), MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=ab&x=1", 13, serial, sizeof(serial),
	    &reason), MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial=ab&serial=cd", 19, serial, sizeof(serial),
	    &reason), MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse("serial", 6, serial, sizeof(serial), &reason),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mfd_revoke_body_parse(
	    "serial=00112233445566778899aabbccddeeff0011223344", 49, serial, sizeof(serial),
	    &reason), MF_ERR_INVAL);
}
END_TEST

/* ---- OCSP requests ------------------------------------------------------------ */

static char *pki_dir;

static void
pki_setup(void)
{
	pki_dir = mft_tmpdir();
	ck_assert_ptr_nonnull(pki_dir);
	ck_assert_int_eq(mfdt_pki(pki_dir), 0);
}

static void
pki_teardown(void)
{
	mft_rmtree(pki_dir);
	free(pki_dir);
	pki_dir = NULL;
}

START_TEST(test_req_parse)
{
	struct mfd_certid id;
	struct mfd_issuer_id ids[2];
	unsigned char *der, *big, serial[20];
	size_t len, slen;
	X509 *ca, *other;

	ca = mfdt_cert(pki_dir, "ca.pem");
	other = mfdt_cert(pki_dir, "other.pem");
	ck_assert(ca != NULL && other != NULL);
	ck_assert_int_eq(mfd_issuer_id_of(other, &ids[0]), 0);
	ck_assert_int_eq(mfd_issuer_id_of(ca, &ids[1]), 0);
	ck_assert_int_eq(mf_unhex(LEAF_SERIAL, serial, sizeof(serial), &slen), 0);

	der = mfdt_read(pki_dir, "req-sha1.der", &len);
	ck_assert_ptr_nonnull(der);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len, &id), 0);
	ck_assert_int_eq(id.alg, MFD_ALG_SHA1);
	ck_assert_uint_eq(id.hlen, 20);
	ck_assert_uint_eq(id.serial_len, slen);
	ck_assert(memcmp(id.serial, serial, slen) == 0);
	ck_assert_int_eq(mfd_issuer_find(ids, 2, &id), 1);
	ck_assert_int_eq(mfd_issuer_find(ids, 1, &id), -1);
	/* Our minimal encoding is byte for byte what openssl sends without nonce. */
	{
		unsigned char *enc;
		size_t elen;

		ck_assert_int_eq(mfd_ocsp_req_encode(&id, &enc, &elen), 0);
		ck_assert_uint_eq(elen, len);
		ck_assert(memcmp(enc, der, len) == 0);
		OPENSSL_free(enc);
	}
	/* Truncated anywhere, and with a trailing byte: malformed. */
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len - 1, &id), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len / 2, &id), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, 1, &id), MF_ERR_OCSP_MALFORMED);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, 0, &id), MF_ERR_OCSP_MALFORMED);
	big = calloc(1, MFD_OCSP_REQ_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memcpy(big, der, len);
	ck_assert_int_eq(mfd_ocsp_req_parse(big, len + 1, &id), MF_ERR_OCSP_MALFORMED);
	/* Huge: refused before decoding. */
	ck_assert_int_eq(mfd_ocsp_req_parse(big, MFD_OCSP_REQ_MAX + 1, &id), MF_ERR_OCSP_MALFORMED);
	/* Garbage. */
	memset(big, 0x41, 64);
	ck_assert_int_eq(mfd_ocsp_req_parse(big, 64, &id), MF_ERR_OCSP_MALFORMED);
	free(big);
	free(der);

	der = mfdt_read(pki_dir, "req-sha256.der", &len);
	ck_assert_ptr_nonnull(der);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len, &id), 0);
	ck_assert_int_eq(id.alg, MFD_ALG_SHA256);
	ck_assert_uint_eq(id.hlen, 32);
	ck_assert_int_eq(mfd_issuer_find(ids, 2, &id), 1);
	free(der);

	der = mfdt_read(pki_dir, "req-nonce.der", &len);
	ck_assert_ptr_nonnull(der);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len, &id), 0);
	ck_assert_int_eq(mfd_issuer_find(ids, 2, &id), 1);
	free(der);

	der = mfdt_read(pki_dir, "req-two.der", &len);
	ck_assert_ptr_nonnull(der);
	ck_assert_int_eq(mfd_ocsp_req_parse(der, len, &id), MF_ERR_OCSP_MALFORMED);
	free(der);
	X509_free(ca);
	X509_free(other);
}
END_TEST

/* ---- cache ------------------------------------------------------------------- */

static struct mfd_blob *
blob_of(const char *s, int64_t tu)
{
	size_t n = strlen(s);
	unsigned char *d = malloc(n);

	memcpy(d, s, n);
	return mfd_blob_new(d, n, "text/plain", tu, tu + 100);
}

static int
pick_old(const struct mfd_cache_key *k, const struct mfd_blob *b, void *arg)
{
	return b->this_update < *(int64_t *)arg;
}

START_TEST(test_cache)
{
	struct mfd_cache *c;
	struct mfd_cache_key k, k2, *keys;
	struct mfd_blob *b, *held;
	unsigned char s[20];
	size_t n, nkeys, i;
	int64_t oldest, limit = 500;

	ck_assert_int_eq(mfd_cache_new(&c), 0);
	memset(s, 0xab, sizeof(s));
	mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 16);
	mfd_cache_key_set(&k2, 0, MFD_ALG_SHA256, s, 16);
	ck_assert_ptr_null(mfd_cache_get(c, &k));
	ck_assert_int_eq(mfd_cache_put(c, &k, blob_of("one", 1000)), 0);
	held = mfd_cache_get(c, &k);
	ck_assert_ptr_nonnull(held);
	ck_assert_uint_eq(held->len, 3);
	ck_assert_ptr_null(mfd_cache_get(c, &k2));
	/* Replacing keeps the blob a reader holds intact. */
	ck_assert_int_eq(mfd_cache_put(c, &k, blob_of("two!", 2000)), 0);
	ck_assert(memcmp(held->data, "one", 3) == 0);
	b = mfd_cache_get(c, &k);
	ck_assert_uint_eq(b->len, 4);
	ck_assert_str_eq(held->etag[0] == '"' ? "q" : "x", "q");
	ck_assert_str_ne(held->etag, b->etag);
	mfd_blob_unref(held);
	mfd_blob_unref(b);
	/* add never replaces: the entry there stays, the new blob is dropped. */
	ck_assert_int_eq(mfd_cache_add(c, &k, blob_of("three", 3000)), MF_ERR_EXISTS);
	b = mfd_cache_get(c, &k);
	ck_assert_uint_eq(b->len, 4);
	mfd_blob_unref(b);
	ck_assert_int_eq(mfd_cache_add(c, &k2, blob_of("three", 3000)), 0);
	b = mfd_cache_get(c, &k2);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, 5);
	mfd_blob_unref(b);
	ck_assert_int_eq(mfd_cache_del(c, &k2), 0);
	ck_assert_int_eq(mfd_cache_del(c, &k), 0);
	ck_assert_int_eq(mfd_cache_del(c, &k), MF_ERR_NOTFOUND);

	/* Many entries: the table grows and every one is still found. */
	for (i = 0; i < 5000; i++) {
		memcpy(s, &i, sizeof(i));
		mfd_cache_key_set(&k, (unsigned)(i % 3), MFD_ALG_SHA1, s, 20);
		ck_assert_int_eq(mfd_cache_put(c, &k, blob_of("x", (int64_t)i)), 0);
	}
	mfd_cache_stats(c, &n, &oldest);
	ck_assert_uint_eq(n, 5000);
	ck_assert_int_eq(oldest, 0);
	for (i = 0; i < 5000; i += 7) {
		memcpy(s, &i, sizeof(i));
		mfd_cache_key_set(&k, (unsigned)(i % 3), MFD_ALG_SHA1, s, 20);
		b = mfd_cache_get(c, &k);
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(b->this_update, (int64_t)i);
		mfd_blob_unref(b);
	}
	ck_assert_int_eq(mfd_cache_select(c, pick_old, &limit, &keys, &nkeys), 0);
	ck_assert_uint_eq(nkeys, 500);
	for (i = 0; i < nkeys; i++) {
		size_t v;

		memcpy(&v, keys[i].serial, sizeof(v));
		ck_assert_uint_lt(v, 500);
	}
	free(keys);
	mfd_cache_clear(c);
	mfd_cache_stats(c, &n, &oldest);
	ck_assert_uint_eq(n, 0);
	mfd_cache_free(c);
	mfd_cache_free(NULL);
	mfd_blob_unref(NULL);
}
END_TEST

static void
count_gone(const struct mfd_cache_key *k, void *arg)
{
	(void)k;
	(*(size_t *)arg)++;
}

/*
 * Responses of expired certificates leave the cache: the count, the bytes
 * and the bucket array shrink back, live entries and entries without a
 * not_after stay, and a response still being sent keeps its blob.
 */
START_TEST(test_cache_expire)
{
	struct mfd_cache *c;
	struct mfd_cache_key k;
	struct mfd_blob *b, *held;
	unsigned char s[20] = { 0 };
	size_t i, n, dropped = 99, bytes = 99, gone = 0;
	int64_t oldest;

	ck_assert_int_eq(mfd_cache_new(&c), 0);
	ck_assert_int_eq(mfd_cache_next_expiry(c), INT64_MAX);
	/* Nothing expired: nothing dropped. */
	mfd_cache_expire(c, 1000, NULL, NULL, &dropped, &bytes);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(bytes, 0);
	/* 20,000 responses: certificates expiring at 1000 + i % 4 * 100, the first without one. */
	for (i = 0; i < 20000; i++) {
		memcpy(s, &i, sizeof(i));
		mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 20);
		b = blob_of("resp", 1);
		b->not_after = i == 0 ? 0 : 1000 + (int64_t)(i % 4) * 100;
		ck_assert_int_eq(mfd_cache_put(c, &k, b), 0);
	}
	ck_assert_uint_eq(mfd_cache_bytes(c), 20000 * 4);
	ck_assert_int_eq(mfd_cache_next_expiry(c), 1000);
	/* One of those about to expire is still being sent. */
	i = 4;
	memcpy(s, &i, sizeof(i));
	mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 20);
	held = mfd_cache_get(c, &k);
	ck_assert_ptr_nonnull(held);
	ck_assert_int_eq(held->not_after, 1000);

	/* At its not_after a certificate is still valid (RFC 5280 4.1.2.5). */
	mfd_cache_expire(c, 1000, count_gone, &gone, &dropped, &bytes);
	ck_assert_uint_eq(dropped, 0);
	mfd_cache_expire(c, 1001, count_gone, &gone, &dropped, &bytes);
	ck_assert_uint_eq(dropped, 4999);	/* i % 4 == 0, but not i == 0 */
	ck_assert_uint_eq(bytes, 4999 * 4);
	ck_assert_uint_eq(gone, 4999);
	ck_assert_ptr_null(mfd_cache_get(c, &k));
	ck_assert_int_eq(held->len, 4);
	ck_assert_mem_eq(held->data, "resp", 4);
	mfd_blob_unref(held);
	ck_assert_int_eq(mfd_cache_next_expiry(c), 1100);
	mfd_cache_stats(c, &n, &oldest);
	ck_assert_uint_eq(n, 15001);
	ck_assert_uint_eq(mfd_cache_bytes(c), 15001 * 4);

	/* Later, all but the one without a not_after. */
	mfd_cache_expire(c, 2000, NULL, NULL, &dropped, &bytes);
	ck_assert_uint_eq(dropped, 15000);
	mfd_cache_stats(c, &n, &oldest);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(mfd_cache_bytes(c), 4);
	ck_assert_int_eq(mfd_cache_next_expiry(c), INT64_MAX);
	i = 0;
	memcpy(s, &i, sizeof(i));
	mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 20);
	b = mfd_cache_get(c, &k);
	ck_assert_ptr_nonnull(b);
	mfd_blob_unref(b);
	/* The shrunk table still takes and finds entries. */
	for (i = 1; i < 3000; i++) {
		memcpy(s, &i, sizeof(i));
		mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 20);
		b = blob_of("r", 1);
		b->not_after = 5000;
		ck_assert_int_eq(mfd_cache_put(c, &k, b), 0);
	}
	ck_assert_int_eq(mfd_cache_next_expiry(c), 5000);
	for (i = 0; i < 3000; i += 13) {
		memcpy(s, &i, sizeof(i));
		mfd_cache_key_set(&k, 0, MFD_ALG_SHA1, s, 20);
		b = mfd_cache_get(c, &k);
		ck_assert_ptr_nonnull(b);
		mfd_blob_unref(b);
	}
	mfd_cache_free(c);
}
END_TEST

/*
 * mfd_cache_key_cmp sorts keys the way the ocsp_responses table orders its
 * key (issuer, alg, serial as hex text), so that the stored responses are
 * written in the table's order: SQLite's own ORDER BY of the same rows must
 * give the same sequence, for random serials of every length and for the
 * cases a plain memcmp gets wrong (one serial a prefix of another).
 */
START_TEST(test_key_order)
{
	enum { N = 600 };
	struct mfd_cache_key keys[N];
	unsigned char s[20];
	sqlite3 *db;
	sqlite3_stmt *ins, *sel;
	char hex[41], want[41];
	int i;

	for (i = 0; i < N; i++) {
		size_t len = 1 + (size_t)(i % 20);

		ck_assert_int_eq(RAND_bytes(s, sizeof(s)), 1);
		if (s[0] == 0)
			s[0] = 1;	/* magnitudes: no leading zero octet */
		mfd_cache_key_set(&keys[i], (unsigned)(i % 3), i % 2 ? MFD_ALG_SHA1 : MFD_ALG_SHA256,
		    s, len);
		if (i % 7 == 0 && i > 0) {
			/* the key before it with one more octet, or its first octet alone */
			memcpy(s, keys[i - 1].serial, keys[i - 1].serial_len);
			mfd_cache_key_set(&keys[i], keys[i - 1].issuer, keys[i - 1].alg, s, len);
		}
	}
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (issuer TEXT, alg INTEGER, serial TEXT,"
	    " PRIMARY KEY (issuer, alg, serial)) WITHOUT ROWID", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO t VALUES (?1, ?2, ?3)", -1,
	    &ins, NULL), SQLITE_OK);
	for (i = 0; i < N; i++) {
		char name[16];

		/* issuer names that sort as their index does */
		snprintf(name, sizeof(name), "issuing-%d", keys[i].issuer);
		mf_hex(keys[i].serial, keys[i].serial_len, hex);
		sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(ins, 2, keys[i].alg);
		sqlite3_bind_text(ins, 3, hex, -1, SQLITE_TRANSIENT);
		ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	qsort(keys, N, sizeof(keys[0]), mfd_cache_key_cmp);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT serial, alg FROM t ORDER BY issuer, alg,"
	    " serial", -1, &sel, NULL), SQLITE_OK);
	for (i = 0; i < N; i++) {
		/* a duplicate key (same issuer, alg, serial) is one row */
		if (i > 0 && mfd_cache_key_cmp(&keys[i - 1], &keys[i]) == 0)
			continue;
		ck_assert_int_eq(sqlite3_step(sel), SQLITE_ROW);
		mf_hex(keys[i].serial, keys[i].serial_len, want);
		ck_assert_str_eq((const char *)sqlite3_column_text(sel, 0), want);
		ck_assert_int_eq(sqlite3_column_int(sel, 1), keys[i].alg);
	}
	ck_assert_int_eq(sqlite3_step(sel), SQLITE_DONE);
	sqlite3_finalize(sel);
	sqlite3_close(db);
}
END_TEST

/* ---- signing ----------------------------------------------------------------- */

static int
verify_resp(const unsigned char *der, size_t len, X509 *ca, X509 *leaf, const EVP_MD *md,
    int *status, int *reason)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	ASN1_GENERALIZEDTIME *rev, *tu, *nu;
	int ok = -1;

	X509_STORE_add_cert(st, ca);
	sk_X509_push(certs, ca);	/* the issuer may sign without including itself */
	if ((r = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL)
		goto out;
	if (OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		goto out;
	if ((bs = OCSP_response_get1_basic(r)) == NULL)
		goto out;
	if (OCSP_basic_verify(bs, certs, st, 0) != 1)
		goto out;
	if ((id = OCSP_cert_to_id(md, leaf, ca)) == NULL)
		goto out;
	if (!OCSP_resp_find_status(bs, id, status, reason, &rev, &tu, &nu))
		goto out;
	if (!OCSP_check_validity(tu, nu, 60, -1))
		goto out;
	if (OCSP_resp_get0_respdata(bs) == NULL || OCSP_BASICRESP_get_ext_count(bs) != 0)
		goto out;
	ok = 0;
out:
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	X509_STORE_free(st);
	sk_X509_free(certs);
	return ok;
}

START_TEST(test_sign_ocsp)
{
	X509 *ca, *leaf, *resp_cert = NULL;
	EVP_PKEY *cakey, *rkey;
	struct mfd_ocsp_in in;
	unsigned char *der, serial[20];
	size_t len, slen;
	int status, reason;
	int64_t now = (int64_t)time(NULL);

	ca = mfdt_cert(pki_dir, "ca.pem");
	leaf = mfdt_cert(pki_dir, "leaf.pem");
	cakey = mfdt_key(pki_dir, "ca.key");
	ck_assert(ca && leaf && cakey);
	ck_assert((rkey = EVP_EC_gen("P-256")) != NULL);
	ck_assert_int_eq(mfd_responder_cert(ca, cakey, rkey, "test", now, 4 * 86400, &resp_cert), 0);
	/* The delegate: OCSPSigning EKU, nocheck, not a CA. */
	ck_assert(X509_get_extended_key_usage(resp_cert) & XKU_OCSP_SIGN);
	ck_assert_int_ge(X509_get_ext_by_NID(resp_cert, NID_id_pkix_OCSP_noCheck, -1), 0);
	ck_assert_int_eq(X509_check_ca(resp_cert), 0);
	ck_assert_int_eq(X509_check_issued(ca, resp_cert), X509_V_OK);

	ck_assert_int_eq(mf_unhex(LEAF_SERIAL, serial, sizeof(serial), &slen), 0);
	memset(&in, 0, sizeof(in));
	in.issuer = ca;
	in.signer = resp_cert;
	in.key = rkey;
	in.alg = MFD_ALG_SHA1;
	in.serial = serial;
	in.serial_len = slen;
	in.status = V_OCSP_CERTSTATUS_GOOD;
	in.this_update = now;
	in.next_update = now + 4 * 3600;
	ck_assert_int_eq(mfd_ocsp_sign(&in, &der, &len), 0);
	ck_assert_int_eq(verify_resp(der, len, ca, leaf, EVP_sha1(), &status, &reason), 0);
	ck_assert_int_eq(status, V_OCSP_CERTSTATUS_GOOD);
	/* The same response does not answer a SHA-256 CertID. */
	ck_assert_int_eq(verify_resp(der, len, ca, leaf, EVP_sha256(), &status, &reason), -1);
	free(der);

	in.alg = MFD_ALG_SHA256;
	in.status = V_OCSP_CERTSTATUS_REVOKED;
	in.revoked_at = now - 10;
	in.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
	ck_assert_int_eq(mfd_ocsp_sign(&in, &der, &len), 0);
	ck_assert_int_eq(verify_resp(der, len, ca, leaf, EVP_sha256(), &status, &reason), 0);
	ck_assert_int_eq(status, V_OCSP_CERTSTATUS_REVOKED);
	ck_assert_int_eq(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	free(der);

	/* Signed by the issuer itself (ocsp_delegated = 0). */
	in.signer = ca;
	in.key = cakey;
	in.alg = MFD_ALG_SHA1;
	in.status = V_OCSP_CERTSTATUS_UNKNOWN;
	ck_assert_int_eq(mfd_ocsp_sign(&in, &der, &len), 0);
	ck_assert_int_eq(verify_resp(der, len, ca, leaf, EVP_sha1(), &status, &reason), 0);
	ck_assert_int_eq(status, V_OCSP_CERTSTATUS_UNKNOWN);
	free(der);

	/* A key that does not match the signer certificate fails to sign. */
	in.signer = resp_cert;
	in.key = cakey;
	ck_assert_int_eq(mfd_ocsp_sign(&in, &der, &len), MF_ERR_SIGN);
	ck_assert_ptr_null(der);
	ERR_clear_error();

	X509_free(ca);
	X509_free(leaf);
	X509_free(resp_cert);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(rkey);
}
END_TEST

START_TEST(test_sign_crl)
{
	X509 *ca;
	EVP_PKEY *cakey;
	struct mf_crl_entry e[3];
	unsigned char *der;
	const unsigned char *p;
	size_t len;
	X509_CRL *crl;
	ASN1_INTEGER *num;
	STACK_OF(X509_REVOKED) *revs;
	int64_t now = (int64_t)time(NULL);
	char *cmd, *out = NULL;

	ca = mfdt_cert(pki_dir, "ca.pem");
	cakey = mfdt_key(pki_dir, "ca.key");
	ck_assert(ca && cakey);
	memset(e, 0, sizeof(e));
	e[0].serial[0] = 0x30; e[0].serial_len = 1; e[0].revoked_at = now - 5; e[0].reason = 1;
	e[1].serial[0] = 0x10; e[1].serial_len = 1; e[1].revoked_at = now - 6; e[1].reason = 0;
	memset(e[2].serial, 0xee, 16); e[2].serial_len = 16; e[2].revoked_at = now; e[2].reason = 4;
	ck_assert_int_eq(mf_crl_build(ca, cakey, e, 3, 42, now, 86400, &der, &len), 0);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	ck_assert_ptr_nonnull(crl);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ck_assert_ptr_nonnull(num);
	ck_assert_int_eq(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	ck_assert_int_ge(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1), 0);
	revs = X509_CRL_get_REVOKED(crl);
	ck_assert_int_eq(sk_X509_REVOKED_num(revs), 3);
	/* Sorted by serial; the unspecified reason is left out. */
	ck_assert_int_eq(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
	    sk_X509_REVOKED_value(revs, 0))), 0x10);
	ck_assert_int_eq(X509_REVOKED_get_ext_count(sk_X509_REVOKED_value(revs, 0)), 0);
	ck_assert_int_eq(X509_REVOKED_get_ext_count(sk_X509_REVOKED_value(revs, 1)), 1);
	X509_CRL_free(crl);

	/* And the openssl CLI agrees. */
	{
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/test.crl", pki_dir);
		f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(der, 1, len, f), len);
		fclose(f);
	}
	ck_assert(asprintf(&cmd, "cd '%s' && openssl crl -inform DER -in test.crl -CAfile ca.pem "
	    "-noout -text 2>&1", pki_dir) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "verify OK"));
	ck_assert_ptr_nonnull(strstr(out, "Key Compromise"));
	ck_assert_ptr_nonnull(strstr(out, "EEEEEEEE"));
	free(out);
	free(cmd);
	free(der);

	/* An empty CRL is fine too. */
	ck_assert_int_eq(mf_crl_build(ca, cakey, NULL, 0, 43, now, 86400, &der, &len), 0);
	free(der);
	X509_free(ca);
	EVP_PKEY_free(cakey);
}
END_TEST

Suite *
suite_mfd_unit(void)
{
	Suite *s = suite_create("mayflyd-unit");
	TCase *tc;

	tc = tcase_create("route");
	tcase_add_test(tc, test_route_table);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_bearer_and_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_cache_expire);
	tcase_add_test(tc, test_key_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("pki");
	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_req_parse);
	tcase_add_test(tc, test_sign_ocsp);
	tcase_add_test(tc, test_sign_crl);
	suite_add_tcase(s, tc);
	return s;
}
