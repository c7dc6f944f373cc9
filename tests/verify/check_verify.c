/*
 * check_verify.c - the Check suite of libmayfly-verify and mayfly-verify.
 *
 * main() builds a fresh corpus of real chains and OCSP responses with
 * tests/verify/gen-corpus.sh (the openssl command line) in a private
 * temporary directory, then runs every line of tests/verify/cases.txt
 * through the library and asserts the exact result code.  Further tests
 * exercise what a table cannot say well: how the last-known-good time
 * moves, argument checking, hand-made broken DER, the error table, and
 * the exit status and message of the CLI.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "mayfly_verify.h"
#include "bundle_make.h"
#include "corpus_case.h"


static char corpus[256];
static int64_t gen_now;  /* certificates' validity is relative to this */
static int64_t test_now; /* the clock of the cases: when OCSP was made */

struct tcase_line {
	char name[64];
	char chain[128];
	char expect[64];
	char opts[512];
};
static struct tcase_line cases[256];
static int ncases;

/* The corpus plumbing (PEM loading, pins, one case) is shared with
 * device/corpus_run.c; these wrappers turn its failures into test failures. */
#define certs mfvt_certs
#define certs_free mfvt_certs_free

static void
load_pem(const char *file, struct certs *c)
{
	ck_assert_msg(mfvt_load_pem(corpus, file, c) == 0, "no certificate in %s/%s", corpus, file);
}

static void
sha256(const unsigned char *p, size_t n, uint8_t out[32])
{
	ck_assert_int_eq(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL), 1);
}

static int
code_of(const char *name)
{
	char full[96];
	int e;

	/* cases.txt names codes without the MFV_ERR_ prefix. */
	snprintf(full, sizeof(full), strcmp(name, "OK") == 0 ? "MFV_OK" : "MFV_ERR_%s", name);
	for (e = 0; e >= MFV_ERR_LAST; e--)
		if (strcmp(mfv_errname(e), full) == 0)
			return e;
	ck_abort_msg("unknown error name %s", name);
	return 1;
}

/* Run one line of cases.txt. */
static int
run_case(const struct tcase_line *t, struct mfv_result *res)
{
	char why[256];
	int rc = mfvt_run_case(corpus, test_now, t->opts, t->chain, res, why, sizeof(why));

	ck_assert_msg(rc != 1, "%s: %s", t->name, why);
	return rc;
}

START_TEST(test_case)
{
	const struct tcase_line *t = &cases[_i];
	struct mfv_result res;
	int want = code_of(t->expect), rc;

	rc = run_case(t, &res);
	ck_assert_msg(rc == want, "case %s: got %s (depth %d), want %s", t->name,
	              mfv_errname(rc), res.depth, mfv_errname(want));
}
END_TEST

static const struct tcase_line *
find_case(const char *name)
{
	int i;

	for (i = 0; i < ncases; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	ck_abort_msg("no case %s", name);
	return NULL;
}

/* Without a clock, a good chain moves the LKGT up to the leaf's notBefore,
 * and a verified staple moves it up to thisUpdate; nothing moves it down,
 * and a refused chain leaves it alone. */
START_TEST(test_lkgt)
{
	struct tcase_line t;
	struct mfv_result res;

	t = *find_case("notime");
	ck_assert_int_eq(run_case(&t, &res), 0);
	ck_assert(res.flags & MFV_RES_TIME_UNKNOWN);
	ck_assert(res.flags & MFV_RES_LKGT_ADVANCED);
	ck_assert_int_eq(res.lkgt, gen_now - 3600); /* leaf notBefore */

	snprintf(t.opts, sizeof(t.opts), "time=none lkgt=100");
	ck_assert_int_eq(run_case(&t, &res), 0);
	ck_assert_int_eq(res.lkgt, test_now + 100);
	ck_assert(!(res.flags & MFV_RES_LKGT_ADVANCED));

	snprintf(t.opts, sizeof(t.opts), "time=none lkgt=-7200 ocsp=o-good.der");
	ck_assert_int_eq(run_case(&t, &res), 0);
	ck_assert(res.flags & MFV_RES_OCSP_GOOD);
	ck_assert(res.flags & MFV_RES_LKGT_ADVANCED);
	/* thisUpdate was stamped while the corpus was made. */
	ck_assert_int_ge(res.lkgt, gen_now);
	ck_assert_int_le(res.lkgt, test_now);

	/* With a wall clock the LKGT still only comes from signed data. */
	snprintf(t.opts, sizeof(t.opts), "time=5000");
	ck_assert_int_eq(run_case(&t, &res), 0);
	ck_assert(!(res.flags & MFV_RES_TIME_UNKNOWN));
	ck_assert_int_eq(res.lkgt, gen_now - 3600);

	t = *find_case("lkgt-past-leaf");
	ck_assert_int_eq(run_case(&t, &res), MFV_ERR_EXPIRED);
	ck_assert_int_eq(res.lkgt, test_now + 86400);
	ck_assert_int_eq(res.depth, 0);
}
END_TEST

START_TEST(test_result_fields)
{
	struct tcase_line t = *find_case("leaf24-nocap");
	struct certs root = { { 0 }, { 0 }, 0 };
	struct mfv_result res;
	uint8_t h[32];

	ck_assert_int_eq(run_case(&t, &res), 0);
	ck_assert_uint_eq(res.path_len, 3);
	ck_assert(res.flags & MFV_RES_NAME_UNCHECKED);
	ck_assert_int_eq(res.leaf_not_after, gen_now - 3600 + 86400);
	load_pem("root.pem", &root);
	sha256(root.der[0], (size_t)root.len[0], h);
	ck_assert(memcmp(h, res.anchor, 32) == 0);
	certs_free(&root);

	t = *find_case("inter-not-ca");
	ck_assert_int_eq(run_case(&t, &res), MFV_ERR_NOT_CA);
	ck_assert_int_eq(res.depth, 1);
	t = *find_case("pathlen-exceeded");
	ck_assert_int_eq(run_case(&t, &res), MFV_ERR_PATH_LEN);
	ck_assert_int_eq(res.depth, 2);
}
END_TEST

/* mfv_verify_chain() has no staple to offer: must-staple leaves fail. */
START_TEST(test_chain_only)
{
	static struct mfv_ctx ctx;
	struct certs c = { { 0 }, { 0 }, 0 }, r = { { 0 }, { 0 }, 0 };
	struct mfv_buf b[4];
	struct mfv_result res;
	uint8_t h[32];

	load_pem("c-staple.pem", &c);
	load_pem("root.pem", &r);
	mfv_init(&ctx);
	mfv_set_time(&ctx, test_now);
	sha256(r.der[0], (size_t)r.len[0], h);
	ck_assert_int_eq(mfv_add_root(&ctx, h), 0);
	b[0].p = c.der[0]; b[0].len = (size_t)c.len[0];
	b[1].p = c.der[1]; b[1].len = (size_t)c.len[1];
	b[2].p = r.der[0]; b[2].len = (size_t)r.len[0];
	ck_assert_int_eq(mfv_verify_chain(&ctx, b, 3, &res), MFV_ERR_OCSP_REQUIRED);
	ck_assert(res.flags & MFV_RES_MUST_STAPLE);
	ck_assert_int_eq(mfv_verify_chain(&ctx, b, 3, NULL), MFV_ERR_OCSP_REQUIRED);
	certs_free(&c);
	load_pem("c-leaf24.pem", &c);
	b[0].p = c.der[0]; b[0].len = (size_t)c.len[0];
	b[1].p = c.der[1]; b[1].len = (size_t)c.len[1];
	ck_assert_int_eq(mfv_verify_chain(&ctx, b, 3, &res), 0);
	ck_assert(!(res.flags & MFV_RES_MUST_STAPLE));
	certs_free(&c);
	certs_free(&r);
}
END_TEST

START_TEST(test_args)
{
	static struct mfv_ctx ctx;
	static uint8_t big[MFV_MAX_CERT_SIZE + 1];
	struct mfv_buf b[MFV_MAX_CERTS + 1];
	uint8_t h[32] = { 1 }, ip[16] = { 0 };
	size_t i;

	mfv_init(&ctx);
	b[0].p = big;
	b[0].len = 10;
	ck_assert_int_eq(mfv_verify(&ctx, b, 1, NULL, NULL), MFV_ERR_NO_ROOTS);
	for (i = 0; i < MFV_MAX_ROOTS; i++)
		ck_assert_int_eq(mfv_add_root(&ctx, h), 0);
	ck_assert_int_eq(mfv_add_root(&ctx, h), MFV_ERR_TOO_MANY);
	ck_assert_int_eq(mfv_verify(&ctx, b, 0, NULL, NULL), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_verify(NULL, b, 1, NULL, NULL), MFV_ERR_INVALID_ARG);
	for (i = 0; i <= MFV_MAX_CERTS; i++)
		b[i] = b[0];
	ck_assert_int_eq(mfv_verify(&ctx, b, MFV_MAX_CERTS + 1, NULL, NULL), MFV_ERR_TOO_MANY);
	b[0].len = sizeof(big);
	ck_assert_int_eq(mfv_verify(&ctx, b, 1, NULL, NULL), MFV_ERR_CERT_TOO_LARGE);

	ck_assert_int_eq(mfv_set_host(&ctx, "", 0), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_host(&ctx, "a..b", 4), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_host(&ctx, "exa mple.test", 13), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_host(&ctx, ".", 1), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_host(&ctx, "*.example.test", 14), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_host(&ctx, "www.example.test.", 17), 0);
	ck_assert_int_eq(mfv_set_ip(&ctx, ip, 5), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_set_ip(&ctx, ip, 4), 0);
}
END_TEST

/* Hand-made encodings the corpus cannot produce. */
START_TEST(test_der)
{
	static struct mfv_ctx ctx;
	static const struct {
		uint8_t der[8];
		size_t len;
		int want;
	} v[] = {
		{ { 0x30, 0x80, 0x00, 0x00 }, 4, MFV_ERR_DER_LENGTH },      /* indefinite */
		{ { 0x30, 0x81, 0x02, 0x05, 0x00 }, 5, MFV_ERR_DER_LENGTH }, /* long form for 2 */
		{ { 0x30, 0x84, 0, 0, 0, 2, 5, 0 }, 8, MFV_ERR_DER_LENGTH }, /* 4 length octets */
		{ { 0x3f, 0x01, 0x00 }, 3, MFV_ERR_DER_TAG },                /* high tag number */
		{ { 0x31, 0x00 }, 2, MFV_ERR_DER_TAG },                      /* SET, not SEQUENCE */
		{ { 0x30 }, 1, MFV_ERR_DER_TRUNCATED },
		{ { 0x30, 0x05, 0x30, 0x00 }, 4, MFV_ERR_DER_TRUNCATED },
		{ { 0x30, 0x00, 0x00 }, 3, MFV_ERR_DER_TRAILING },
		{ { 0x30, 0x00 }, 2, MFV_ERR_DER_TRUNCATED },                /* no TBSCertificate */
	};
	struct mfv_buf b;
	struct mfv_result res;
	uint8_t h[32] = { 0 };
	size_t i;

	mfv_init(&ctx);
	ck_assert_int_eq(mfv_add_root(&ctx, h), 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		b.p = v[i].der;
		b.len = v[i].len;
		ck_assert_msg(mfv_verify(&ctx, &b, 1, NULL, &res) == v[i].want,
		              "vector %zu: got %s", i, mfv_errname(mfv_verify(&ctx, &b, 1, NULL, &res)));
		ck_assert_int_eq(res.depth, 0);
	}
}
END_TEST

START_TEST(test_errors)
{
	int e, f;

	ck_assert_str_eq(mfv_errname(0), "MFV_OK");
	ck_assert_str_eq(mfv_errname(MFV_ERR_EXPIRED), "MFV_ERR_EXPIRED");
	ck_assert_str_eq(mfv_errname(MFV_ERR_OCSP_REVOKED), "MFV_ERR_OCSP_REVOKED");
	ck_assert_str_eq(mfv_strerror(MFV_ERR_EXPIRED), "now (or the LKGT) is after notAfter");
	ck_assert_str_eq(mfv_errname(MFV_ERR_LAST), "MFV_ERR_PROFILE");
	ck_assert_str_eq(mfv_errname(MFV_ERR_LAST - 1), "MFV_ERR_UNKNOWN");
	ck_assert_str_eq(mfv_errname(1), "MFV_ERR_UNKNOWN");
	for (e = 0; e >= MFV_ERR_LAST; e--) {
		ck_assert(strncmp(mfv_errname(e), "MFV_", 4) == 0);
		ck_assert(strlen(mfv_strerror(e)) > 5);
		for (f = e - 1; f >= MFV_ERR_LAST; f--)
			ck_assert_str_ne(mfv_errname(e), mfv_errname(f));
	}
}
END_TEST

/* ---- RSASSA-PSS parameters, re-encoded by hand ----------------------------- */

/* A small DER writer: TAG LENGTH CONTENTS appended to a buffer. */
struct dbuf {
	uint8_t p[4096];
	size_t n;
};

static void
dput(struct dbuf *b, uint8_t tag, const uint8_t *v, size_t len)
{
	ck_assert(b->n + len + 4 <= sizeof(b->p));
	b->p[b->n++] = tag;
	if (len >= 0x100) {
		b->p[b->n++] = 0x82;
		b->p[b->n++] = (uint8_t)(len >> 8);
	} else if (len >= 0x80) {
		b->p[b->n++] = 0x81;
	}
	b->p[b->n++] = (uint8_t)len;
	memcpy(b->p + b->n, v, len);
	b->n += len;
}

/* The length of the TLV at p (at most n octets), and of its header. */
static size_t
dtlv(const uint8_t *p, size_t n, size_t *hdr)
{
	size_t len;

	ck_assert(n >= 2);
	if (p[1] < 0x80) {
		*hdr = 2;
		len = p[1];
	} else if (p[1] == 0x81) {
		*hdr = 3;
		len = p[2];
	} else {
		ck_assert_int_eq(p[1], 0x82);
		*hdr = 4;
		len = (size_t)p[2] << 8 | p[3];
	}
	ck_assert(*hdr + len <= n);
	return *hdr + len;
}

/* The certificate der with its signature AlgorithmIdentifier (in the
 * TBSCertificate and outside it) replaced by alg. */
static void
swap_sig_alg(const uint8_t *der, size_t len, const struct dbuf *alg, struct dbuf *out)
{
	struct dbuf tbs = { { 0 }, 0 }, body = { { 0 }, 0 };
	const uint8_t *c, *t;
	size_t h, n, tl, vl, sl, al;

	dtlv(der, len, &h);
	c = der + h;
	n = len - h;
	tl = dtlv(c, n, &h);              /* TBSCertificate */
	t = c + h;
	vl = dtlv(t, tl - h, &h);         /* version */
	sl = dtlv(t + vl, tl - h - vl, &h); /* serial */
	al = dtlv(t + vl + sl, tl - h - vl - sl, &h);
	memcpy(tbs.p, t, vl + sl);
	tbs.n = vl + sl;
	memcpy(tbs.p + tbs.n, alg->p, alg->n);
	tbs.n += alg->n;
	dtlv(c, n, &h);
	memcpy(tbs.p + tbs.n, t + vl + sl + al, tl - h - vl - sl - al);
	tbs.n += tl - h - vl - sl - al;
	dput(&body, 0x30, tbs.p, tbs.n);
	memcpy(body.p + body.n, alg->p, alg->n);
	body.n += alg->n;
	al = dtlv(c + tl, n - tl, &h);    /* the outer AlgorithmIdentifier */
	memcpy(body.p + body.n, c + tl + al, n - tl - al);
	body.n += n - tl - al;
	out->n = 0;
	dput(out, 0x30, body.p, body.n);
}

/* One variant of RSASSA-PSS-params. */
struct pss_variant {
	const char *what;
	int hash0;       /* arc of the hash in [0] under 2.16.840.1.101.3.4.2, -1 absent,
	                    -2 SHA-1 */
	int null0;       /* [0] with NULL parameters */
	int hash1, null1; /* the same for the MGF1 hash; -1: no [1] */
	uint8_t mgf;     /* last arc of the MGF OID (8 = mgf1) */
	int salt;        /* -1: no [2] */
	int trailer;     /* a trailerField [3] */
	int want;        /* 1: the parser accepts it (the signature then fails) */
};

static void
pss_hash_alg(struct dbuf *out, int arc, int null)
{
	static const uint8_t sha1[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a };
	uint8_t h[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x00, 0x05, 0x00 };
	struct dbuf x = { { 0 }, 0 };

	if (arc == -2) {
		memcpy(x.p, sha1, sizeof(sha1));
		x.n = sizeof(sha1);
	} else {
		h[10] = (uint8_t)arc;
		memcpy(x.p, h, 11);
		x.n = 11;
	}
	if (null) {
		x.p[x.n++] = 0x05;
		x.p[x.n++] = 0x00;
	}
	dput(out, 0x30, x.p, x.n);
}

static void
pss_alg(const struct pss_variant *v, struct dbuf *out)
{
	static const uint8_t pss_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };
	uint8_t mgf_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08 };
	struct dbuf params = { { 0 }, 0 }, x = { { 0 }, 0 }, y = { { 0 }, 0 }, alg = { { 0 }, 0 };
	uint8_t salt[3];

	if (v->hash0 != -1) {
		pss_hash_alg(&x, v->hash0, v->null0);
		dput(&params, 0xa0, x.p, x.n);
	}
	if (v->hash1 != -1) {
		mgf_oid[10] = v->mgf;
		memcpy(y.p, mgf_oid, sizeof(mgf_oid));
		y.n = sizeof(mgf_oid);
		pss_hash_alg(&y, v->hash1, v->null1);
		x.n = 0;
		dput(&x, 0x30, y.p, y.n);
		dput(&params, 0xa1, x.p, x.n);
	}
	if (v->salt >= 0) {
		x.n = 0;
		if (v->salt >= 0x80) {
			salt[0] = (uint8_t)(v->salt >> 8);
			salt[1] = (uint8_t)v->salt;
			dput(&x, 0x02, salt, 2);
		} else {
			salt[0] = (uint8_t)v->salt;
			dput(&x, 0x02, salt, 1);
		}
		y.n = 0;
		dput(&params, 0xa2, x.p, x.n);
	}
	if (v->trailer) {
		static const uint8_t one[] = { 0x02, 0x01, 0x01 };
		dput(&params, 0xa3, one, sizeof(one));
	}
	memcpy(alg.p, pss_oid, sizeof(pss_oid));
	alg.n = sizeof(pss_oid);
	dput(&alg, 0x30, params.p, params.n);
	out->n = 0;
	dput(out, 0x30, alg.p, alg.n);
}

/* The RSASSA-PSS parameter parser against hand-made variants of a real
 * PSS leaf: every variant RFC 4055 allows with the hashes we support
 * gets past parsing (and fails only on the signature, since the signed
 * bytes changed), every other one is refused before any crypto runs. */
START_TEST(test_pss_params)
{
	static const struct pss_variant v[] = {
		{ "both hashes with NULL", 1, 1, 1, 1, 8, 32, 0, 1 },
		{ "both hashes without NULL", 1, 0, 1, 0, 8, 32, 0, 1 },
		{ "NULL in one hash only (RFC 4055 allows both)", 1, 0, 1, 1, 8, 32, 0, 1 },
		{ "SHA-384, salt 48", 2, 1, 2, 1, 8, 48, 0, 1 },
		{ "salt 0", 1, 1, 1, 1, 8, 0, 0, 1 },
		{ "salt 512", 1, 1, 1, 1, 8, 512, 0, 1 },
		{ "salt 513", 1, 1, 1, 1, 8, 513, 0, 0 },
		{ "MGF1 hash differs", 1, 1, 2, 1, 8, 32, 0, 0 },
		{ "hashAlgorithm absent (SHA-1 default)", -1, 0, 1, 1, 8, 32, 0, 0 },
		{ "maskGenAlgorithm absent (MGF1-SHA-1 default)", 1, 1, -1, 0, 8, 32, 0, 0 },
		{ "saltLength absent (20 by default)", 1, 1, 1, 1, 8, -1, 0, 0 },
		{ "trailerField encoded", 1, 1, 1, 1, 8, 32, 1, 0 },
		{ "not MGF1", 1, 1, 1, 1, 9, 32, 0, 0 },
		{ "SHA-1", -2, 1, -2, 1, 8, 32, 0, 0 },
		{ "SHA-512", 3, 1, 3, 1, 8, 64, 0, 0 },
	};
	static struct mfv_ctx ctx;
	struct certs c = { { 0 }, { 0 }, 0 }, r = { { 0 }, { 0 }, 0 };
	static struct dbuf alg, leaf;
	struct mfv_buf b[3];
	struct mfv_result res;
	uint8_t h[32];
	size_t i, hdr, tl, al;
	const uint8_t *body;
	int rc;

	load_pem("c-rpss.pem", &c);
	load_pem("rroot.pem", &r);
	mfv_init(&ctx);
	mfv_set_time(&ctx, test_now);
	sha256(r.der[0], (size_t)r.len[0], h);
	ck_assert_int_eq(mfv_add_root(&ctx, h), 0);
	b[1].p = c.der[1]; b[1].len = (size_t)c.len[1];
	b[2].p = r.der[0]; b[2].len = (size_t)r.len[0];

	/* The rewriting itself: with the leaf's own AlgorithmIdentifier
	 * the certificate comes out the same and verifies. */
	dtlv(c.der[0], (size_t)c.len[0], &hdr);
	body = c.der[0] + hdr;                                  /* TBSCertificate, ... */
	tl = dtlv(body, (size_t)c.len[0] - hdr, &hdr);
	al = dtlv(body + tl, (size_t)c.len[0] - hdr - tl, &hdr); /* signatureAlgorithm */
	memcpy(alg.p, body + tl, al);
	alg.n = al;
	swap_sig_alg(c.der[0], (size_t)c.len[0], &alg, &leaf);
	ck_assert_int_eq(leaf.n, (size_t)c.len[0]);
	ck_assert(memcmp(leaf.p, c.der[0], leaf.n) == 0);
	b[0].p = leaf.p; b[0].len = leaf.n;
	ck_assert_int_eq(mfv_verify_chain(&ctx, b, 3, &res), 0);

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pss_alg(&v[i], &alg);
		swap_sig_alg(c.der[0], (size_t)c.len[0], &alg, &leaf);
		b[0].p = leaf.p; b[0].len = leaf.n;
		rc = mfv_verify_chain(&ctx, b, 3, &res);
		if (v[i].want)
			ck_assert_msg(rc == 0 || rc == MFV_ERR_BAD_SIGNATURE, "%s: got %s", v[i].what,
			              mfv_errname(rc));
		else
			ck_assert_msg(rc != 0 && rc != MFV_ERR_BAD_SIGNATURE && res.depth == 0,
			              "%s: got %s depth %d", v[i].what, mfv_errname(rc), res.depth);
	}
	certs_free(&c);
	certs_free(&r);
}
END_TEST

/* Run the CLI; return its exit status, output in out. */
static int
cli(char *out, size_t cap, const char *args)
{
	char cmd[2048];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/mayfly-verify' %s 2>&1", corpus,
	         MFV_TEST_BUILDDIR, args);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_cli)
{
	char out[4096], args[1024], hex[65];
	struct certs r = { { 0 }, { 0 }, 0 };
	uint8_t h[32];
	int i;

	snprintf(args, sizeof(args), "--roots root.pem --chain c-leaf24.pem --time %" PRId64
	         " --host www.example.test --max-lifetime 86400 --ocsp o-good.der", test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strncmp(out, "OK path=3 ", 10) == 0 && strstr(out, "ocsp-good") != NULL, "%s", out);

	snprintf(args, sizeof(args), "--roots root.pem --chain c-expired.pem --time %" PRId64, gen_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_EXPIRED") != NULL && strchr(out, '\n') == out + strlen(out) - 1,
	              "%s", out);

	snprintf(args, sizeof(args), "--roots root.pem --chain c-leaf25.pem --lkgt %" PRId64
	         " --max-lifetime 86400", gen_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_LIFETIME_TOO_LONG") != NULL, "%s", out);

	snprintf(args, sizeof(args), "--roots root.pem --chain c-leaf24.pem --lkgt %" PRId64, gen_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strstr(out, "time-unknown") != NULL, "%s", out);

	/* --root-hash: the device's view, root sent by the server. */
	load_pem("root.pem", &r);
	sha256(r.der[0], (size_t)r.len[0], h);
	certs_free(&r);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(args, sizeof(args), "--root-hash %s --chain c-full.pem --ip 192.0.2.1 --time %" PRId64,
	         hex, gen_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strstr(out, hex) != NULL, "%s", out);
	snprintf(args, sizeof(args), "--root-hash %s --chain c-leaf24.pem --time %" PRId64, hex, gen_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_ISSUER_NOT_FOUND") != NULL, "%s", out);

	/* Usage errors and unreadable input: 2. */
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--chain c-leaf24.pem"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --chain no-such.pem"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--root-hash abcd --chain c-leaf24.pem"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --chain o-good.der"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --chain c-leaf24.pem --host 'a b'"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --chain c-leaf24.pem --ip 300.1.1.1"), 2);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --chain c-leaf24.pem --time soon"), 2);
}
END_TEST


/* ---- trust bundles ---------------------------------------------------- */

static uint8_t pin_a[32], pin_b[32], pin_e[32], pin_o[32];

static void
pins(void)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/root.pem", corpus);
	ck_assert_int_eq(mkb_pin(p, 0, pin_a), 0);
	snprintf(p, sizeof(p), "%s/rootb.pem", corpus);
	ck_assert_int_eq(mkb_pin(p, 0, pin_b), 0);
	snprintf(p, sizeof(p), "%s/eroot.pem", corpus);
	ck_assert_int_eq(mkb_pin(p, 1, pin_e), 0); /* Ed25519 root pinned by SPKI */
	snprintf(p, sizeof(p), "%s/other.pem", corpus);
	ck_assert_int_eq(mkb_pin(p, 0, pin_o), 0);
}

/* Make a bundle listing `roots` (a string of letters a, b, e, o) signed by
 * `signers` (same letters: root, rootb, eroot, other). */
static struct mfv_buf
mk(uint32_t version, int64_t not_after, uint32_t threshold, const char *roots, const char *signers)
{
	static char certs[8][512], keys[8][512];
	const char *cp[8], *kp[8];
	uint8_t r[8][32];
	struct mkb_spec spec;
	unsigned char *der;
	struct mfv_buf b;
	size_t i;

	memset(&spec, 0, sizeof(spec));
	for (i = 0; roots[i] != '\0'; i++)
		memcpy(r[i], roots[i] == 'a' ? pin_a : roots[i] == 'b' ? pin_b :
		             roots[i] == 'e' ? pin_e : pin_o, 32);
	for (i = 0; signers[i] != '\0'; i++) {
		const char *n = signers[i] == 'a' ? "root" : signers[i] == 'b' ? "rootb" :
		                signers[i] == 'e' ? "eroot" : "other";
		snprintf(certs[i], sizeof(certs[i]), "%s/%s.pem", corpus, n);
		snprintf(keys[i], sizeof(keys[i]), "%s/%s.key", corpus, n);
		cp[i] = certs[i];
		kp[i] = keys[i];
	}
	spec.version = version;
	spec.issued_at = test_now - 1000 + version;
	spec.not_after = not_after;
	spec.threshold = threshold;
	spec.roots = (const uint8_t (*)[32])r;
	spec.n_roots = strlen(roots);
	spec.signer_certs = cp;
	spec.signer_keys = kp;
	spec.n_signers = strlen(signers);
	ck_assert_int_eq(mkb_make(&spec, &der, &b.len), 0);
	b.p = der;
	return b;
}

static void
factory(struct mfv_ctx *ctx)
{
	mfv_init(ctx);
	mfv_set_time(ctx, test_now);
	ck_assert_int_eq(mfv_add_root(ctx, pin_a), 0);
}

START_TEST(test_bundle_rotation)
{
	static struct mfv_ctx ctx;
	struct mfv_buf b2, b3, b4, bad;
	size_t applied;

	pins();
	factory(&ctx);
	/* v2: add backup root B, signed by A (the factory threshold is 1). */
	b2 = mk(2, 0, 1, "ab", "a");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &b2, 1, &applied), 0);
	ck_assert_uint_eq(applied, 1);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 2);
	ck_assert_uint_eq(ctx.n_roots, 2);
	ck_assert_int_eq(mfv_lkgt(&ctx), test_now - 1000 + 2);
	/* Replays and older versions. */
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &b2, 1, &applied), MFV_ERR_BUNDLE_VERSION);
	ck_assert_uint_eq(applied, 0);
	bad = mk(1, 0, 1, "a", "a");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BUNDLE_VERSION);
	free((void *)bad.p);
	/* Signed only by a root the device does not trust. */
	bad = mk(3, 0, 1, "o", "o");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BUNDLE_SIGNER);
	free((void *)bad.p);
	/* v3: roots B and E, and from now on two signatures are needed. */
	b3 = mk(3, 0, 2, "be", "ab");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &b3, 1, NULL), 0);
	/* One signer, or the same signer twice, is not two. */
	bad = mk(4, 0, 1, "e", "b");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BUNDLE_THRESHOLD);
	free((void *)bad.p);
	bad = mk(4, 0, 1, "e", "bb");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BUNDLE_THRESHOLD);
	free((void *)bad.p);
	/* A signature that does not verify is refused, and changes nothing. */
	bad = mk(4, 0, 1, "e", "be");
	((uint8_t *)bad.p)[bad.len - 1] ^= 1;
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BAD_SIGNATURE);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 3);
	ck_assert_uint_eq(ctx.n_roots, 2);
	free((void *)bad.p);
	/* v4: only E (Ed25519, pinned by SPKI), signed by B and E. */
	b4 = mk(4, 0, 1, "e", "be");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &b4, 1, NULL), 0);
	ck_assert_uint_eq(ctx.n_roots, 1);
	ck_assert(memcmp(ctx.roots[0], pin_e, 32) == 0);

	/* A device that slept through all of it walks v2, v3, v4 in order... */
	{
		struct mfv_buf walk[3] = { b2, b3, b4 };
		factory(&ctx);
		ck_assert_int_eq(mfv_bundle_apply(&ctx, walk, 3, &applied), 0);
		ck_assert_uint_eq(applied, 3);
		ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
		/* ...but cannot jump to v4, which its roots never signed. */
		factory(&ctx);
		ck_assert_int_eq(mfv_bundle_apply(&ctx, &b4, 1, &applied), MFV_ERR_BUNDLE_SIGNER);
		ck_assert_uint_eq(mfv_bundle_version(&ctx), 0);
		/* v3 was signed by A too, so it may be applied directly;
		 * v2 after it is then a step back. */
		walk[0] = b3;
		walk[1] = b2;
		factory(&ctx);
		ck_assert_int_eq(mfv_bundle_apply(&ctx, walk, 2, &applied), MFV_ERR_BUNDLE_VERSION);
		ck_assert_uint_eq(applied, 1);
		ck_assert_uint_eq(mfv_bundle_version(&ctx), 3);
	}
	/* mfv_bundle_load: a stored bundle is the state at next boot. */
	mfv_init(&ctx);
	ck_assert_int_eq(mfv_bundle_load(&ctx, b3.p, b3.len), 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 3);
	ck_assert_uint_eq(ctx.n_roots, 2);
	ck_assert_uint_eq(ctx.bundle_threshold, 2);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &b4, 1, NULL), 0);
	free((void *)b2.p);
	free((void *)b3.p);
	free((void *)b4.p);
}
END_TEST

START_TEST(test_bundle_expiry_and_format)
{
	static struct mfv_ctx ctx;
	struct mfv_buf old, next, walk[2], bad;
	size_t applied;

	pins();
	factory(&ctx);
	old = mk(2, test_now - 10, 1, "a", "a");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &old, 1, &applied), MFV_ERR_BUNDLE_EXPIRED);
	/* Without a clock, the LKGT decides. */
	mfv_init(&ctx);
	ck_assert_int_eq(mfv_add_root(&ctx, pin_a), 0);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &old, 1, NULL), 0);
	mfv_init(&ctx);
	ck_assert_int_eq(mfv_add_root(&ctx, pin_a), 0);
	mfv_set_lkgt(&ctx, test_now);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &old, 1, NULL), MFV_ERR_BUNDLE_EXPIRED);
	/* An expired bundle on the way to a current one is fine. */
	next = mk(3, test_now + 86400, 1, "ab", "a");
	walk[0] = old;
	walk[1] = next;
	factory(&ctx);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, walk, 2, &applied), 0);
	ck_assert_uint_eq(applied, 2);

	/* Malformed: truncated, padded, threshold the roots cannot meet,
	 * pin of the wrong size, no bundle at all. */
	factory(&ctx);
	bad = next;
	bad.len--;
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &bad, 1, NULL), MFV_ERR_BUNDLE_MALFORMED);
	ck_assert_int_eq(mfv_bundle_load(&ctx, bad.p, bad.len), MFV_ERR_BUNDLE_MALFORMED);
	free((void *)old.p);
	old = mk(2, 0, 3, "ab", "a");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &old, 1, NULL), MFV_ERR_BUNDLE_MALFORMED);
	free((void *)old.p);
	old = mk(2, 0, 1, "", "a");
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &old, 1, NULL), MFV_ERR_BUNDLE_MALFORMED);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 0);
	ck_assert_uint_eq(ctx.n_roots, 1);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, NULL, 1, NULL), MFV_ERR_INVALID_ARG);
	free((void *)old.p);
	free((void *)next.p);
}
END_TEST

/* After rotation the chain under the retired root is refused and the one
 * under the new root accepted, through the CLI. */
/* The concatenation of n bundles, as mayflyd answers /trust/since/N
 * (malloc()ed; the caller frees it). */
static struct mfv_buf
cat(const struct mfv_buf *b, size_t n)
{
	struct mfv_buf out = { NULL, 0 };
	uint8_t *p;
	size_t i;

	for (i = 0; i < n; i++)
		out.len += b[i].len;
	ck_assert((p = malloc(out.len + 1)) != NULL);
	out.len = 0;
	for (i = 0; i < n; i++) {
		memcpy(p + out.len, b[i].p, b[i].len);
		out.len += b[i].len;
	}
	out.p = p;
	return out;
}

/* The factory state of issue 13: roots A, B and E, two signatures needed. */
static void
factory3(struct mfv_ctx *ctx, const struct mfv_buf *v1)
{
	mfv_init(ctx);
	mfv_set_time(ctx, test_now);
	ck_assert_int_eq(mfv_bundle_load(ctx, v1->p, v1->len), 0);
	ck_assert_uint_eq(mfv_bundle_version(ctx), 1);
}

/* mfv_bundle_apply_since(): a device that slept through several
 * rotations catches up from one /trust/since/N answer; a bad bundle in
 * the answer stops the walk and the device keeps the last good state. */
START_TEST(test_bundle_since)
{
	static struct mfv_ctx ctx;
	struct mfv_buf v1, v2, v3, v4, v3bad, v9, ans, last, part[3];
	size_t applied, i;

	pins();
	v1 = mk(1, 0, 2, "abe", "a");
	/* While the device sleeps: A's key is stolen, so v2 drops it
	 * (signed by B and E); then v3 and v4 move on without B. */
	v2 = mk(2, 0, 2, "beo", "be");
	v3 = mk(3, 0, 2, "eo", "eo");
	v4 = mk(4, 0, 1, "o", "eo");

	/* It wakes and applies since/1 in one call. */
	part[0] = v2; part[1] = v3; part[2] = v4;
	ans = cat(part, 3);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last), 0);
	ck_assert_uint_eq(applied, 3);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	ck_assert_uint_eq(ctx.n_roots, 1);
	ck_assert(memcmp(ctx.roots[0], pin_o, 32) == 0);
	ck_assert_int_eq(mfv_lkgt(&ctx), test_now - 1000 + 4);
	/* last is v4, in place: what the device stores and loads at boot. */
	ck_assert(last.p == ans.p + v2.len + v3.len);
	ck_assert_uint_eq(last.len, v4.len);
	mfv_init(&ctx);
	ck_assert_int_eq(mfv_bundle_load(&ctx, last.p, last.len), 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	/* Nothing newer: an empty answer changes nothing. */
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, NULL, 0, &applied, &last), 0);
	ck_assert_uint_eq(applied, 0);
	ck_assert(last.p == NULL && last.len == 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	free((void *)ans.p);

	/* A tampered middle bundle: v2 is applied, v3 refused, v4 never
	 * looked at; the device holds v2 and *last says so. */
	v3bad = mk(3, 0, 2, "eo", "eo");
	((uint8_t *)v3bad.p)[v3bad.len - 1] ^= 1;
	part[1] = v3bad;
	ans = cat(part, 3);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last),
	                 MFV_ERR_BAD_SIGNATURE);
	ck_assert_uint_eq(applied, 1);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 2);
	ck_assert(last.p == ans.p && last.len == v2.len);
	ck_assert_uint_eq(ctx.n_roots, 3);
	ck_assert_uint_eq(ctx.bundle_threshold, 2);
	free((void *)ans.p);
	free((void *)v3bad.p);
	/* The same with the pins changed after signing. */
	v3bad = mk(3, 0, 2, "eo", "eo");
	for (i = 0; i + 32 <= v3bad.len && memcmp(v3bad.p + i, pin_o, 32) != 0; i++)
		;
	ck_assert(i + 32 <= v3bad.len);
	memcpy((uint8_t *)v3bad.p + i, pin_a, 32);
	part[1] = v3bad;
	ans = cat(part, 3);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, NULL),
	                 MFV_ERR_BAD_SIGNATURE);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 2);
	free((void *)ans.p);
	free((void *)v3bad.p);
	/* ...and the real since/2 answer still brings it to v4. */
	part[0] = v3; part[1] = v4;
	ans = cat(part, 2);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, NULL), 0);
	ck_assert_uint_eq(applied, 2);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	/* An answer to a lower N (the device holds v2, asks since/1 from a
	 * stale cache): the versions it holds are skipped. */
	free((void *)ans.p);
	part[0] = v2; part[1] = v3; part[2] = v4;
	ans = cat(part, 3);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply(&ctx, &v2, 1, NULL), 0);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last), 0);
	ck_assert_uint_eq(applied, 2);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	/* Truncated in the last bundle: v2 and v3 stay. */
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len - 10, &applied, &last),
	                 MFV_ERR_BUNDLE_MALFORMED);
	ck_assert_uint_eq(applied, 2);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 3);
	/* Garbage framing, and trailing garbage after good bundles. */
	factory3(&ctx, &v1);
	((uint8_t *)ans.p)[0] = 0x31;
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last),
	                 MFV_ERR_BUNDLE_MALFORMED);
	ck_assert_uint_eq(applied, 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 1);
	free((void *)ans.p);
	part[2] = v2; /* as framing goes, any SEQUENCE */
	part[2].len = 2;
	ans = cat(part, 3);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last),
	                 MFV_ERR_BUNDLE_MALFORMED);
	ck_assert_uint_eq(applied, 2);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 3);
	free((void *)ans.p);

	/* Reordered: v3 first is signed by E and O, only E of which v1
	 * pins: one signature short. */
	part[0] = v3; part[1] = v2;
	ans = cat(part, 2);
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last),
	                 MFV_ERR_BUNDLE_THRESHOLD);
	ck_assert_uint_eq(applied, 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 1);
	free((void *)ans.p);
	/* A v9 made with the stolen key A alone is refused, changes
	 * nothing, and does not block the real answer afterwards. */
	v9 = mk(9, 0, 1, "a", "a");
	factory3(&ctx, &v1);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, v9.p, v9.len, &applied, &last),
	                 MFV_ERR_BUNDLE_THRESHOLD);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 1);
	part[0] = v2; part[1] = v3; part[2] = v4;
	ans = cat(part, 3);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last), 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 4);
	free((void *)ans.p);
	free((void *)v9.p);
	ck_assert_int_eq(mfv_bundle_apply_since(NULL, NULL, 0, NULL, NULL), MFV_ERR_INVALID_ARG);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, NULL, 1, NULL, NULL), MFV_ERR_INVALID_ARG);
	free((void *)v1.p);
	free((void *)v2.p);
	free((void *)v3.p);
	free((void *)v4.p);
}
END_TEST

/* The expiry applies to the newest bundle of an answer only, and one
 * call walks at most MFV_MAX_BUNDLES bundles. */
START_TEST(test_bundle_since_limits)
{
	static struct mfv_ctx ctx;
	static struct mfv_buf b[MFV_MAX_BUNDLES + 1];
	struct mfv_buf ans, last;
	size_t applied, i;

	pins();
	b[0] = mk(2, test_now - 10, 1, "a", "a"); /* expired */
	b[1] = mk(3, 0, 1, "a", "a");
	ans = cat(b, 2);
	factory(&ctx);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, NULL), 0);
	ck_assert_uint_eq(applied, 2);
	factory(&ctx);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, b[0].p, b[0].len, &applied, NULL),
	                 MFV_ERR_BUNDLE_EXPIRED);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), 0);
	free((void *)ans.p);
	free((void *)b[0].p);
	free((void *)b[1].p);

	for (i = 0; i <= MFV_MAX_BUNDLES; i++)
		b[i] = mk((uint32_t)i + 2, 0, 1, "a", "a");
	ans = cat(b, MFV_MAX_BUNDLES + 1);
	factory(&ctx);
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, ans.p, ans.len, &applied, &last),
	                 MFV_ERR_TOO_MANY);
	ck_assert_uint_eq(applied, MFV_MAX_BUNDLES);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), MFV_MAX_BUNDLES + 1);
	/* The device fetches again from the version it reached. */
	ck_assert_int_eq(mfv_bundle_apply_since(&ctx, last.p + last.len,
	                                        ans.len - (size_t)(last.p + last.len - ans.p),
	                                        &applied, NULL), 0);
	ck_assert_uint_eq(mfv_bundle_version(&ctx), MFV_MAX_BUNDLES + 2);
	free((void *)ans.p);
	for (i = 0; i <= MFV_MAX_BUNDLES; i++)
		free((void *)b[i].p);
}
END_TEST

START_TEST(test_bundle_cli)
{
	struct mfv_buf b = { NULL, 0 };
	char out[4096], args[1024], path[512];
	FILE *f;

	pins();
	b = mk(2, 0, 1, "b", "a");
	snprintf(path, sizeof(path), "%s/bundle-b.der", corpus);
	f = fopen(path, "wb");
	ck_assert(f != NULL);
	ck_assert_uint_eq(fwrite(b.p, 1, b.len, f), b.len);
	fclose(f);
	free((void *)b.p);
	snprintf(args, sizeof(args), "--roots root.pem --bundle bundle-b.der --chain c-full.pem --time %" PRId64,
	         test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_UNTRUSTED_ROOT") != NULL, "%s", out);
	snprintf(args, sizeof(args), "--roots root.pem --roots rootb.pem --bundle bundle-b.der "
	         "--chain c-cross.pem --time %" PRId64, test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strstr(out, " bundle=2 ") != NULL, "%s", out);
	snprintf(args, sizeof(args), "--roots rootb.pem --bundle bundle-b.der --chain c-cross.pem");
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_BUNDLE_SIGNER") != NULL, "%s", out);

	/* --bundles-from: a /trust/since/1 answer, v2 (A, B) then v3 (B),
	 * from a file and through libcurl (a file:// URL). */
	{
		struct mfv_buf part[2], ans;
		part[0] = mk(2, 0, 1, "ab", "a");
		part[1] = mk(3, 0, 1, "b", "ab");
		ans = cat(part, 2);
		snprintf(path, sizeof(path), "%s/since.der", corpus);
		ck_assert((f = fopen(path, "wb")) != NULL);
		ck_assert_uint_eq(fwrite(ans.p, 1, ans.len, f), ans.len);
		fclose(f);
		/* the same with v3's last signature byte flipped */
		((uint8_t *)ans.p)[ans.len - 1] ^= 1;
		snprintf(path, sizeof(path), "%s/since-bad.der", corpus);
		ck_assert((f = fopen(path, "wb")) != NULL);
		ck_assert_uint_eq(fwrite(ans.p, 1, ans.len, f), ans.len);
		fclose(f);
		free((void *)part[0].p);
		free((void *)part[1].p);
		free((void *)ans.p);
	}
	snprintf(args, sizeof(args), "--roots root.pem --roots rootb.pem --bundles-from since.der "
	         "--chain c-cross.pem --time %" PRId64, test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strstr(out, " bundle=3 ") != NULL, "%s", out);
	/* v3 pins B alone: the chain through A's intermediate no longer anchors */
	snprintf(args, sizeof(args), "--roots root.pem --bundles-from since.der --chain c-full.pem "
	         "--time %" PRId64, test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_UNTRUSTED_ROOT") != NULL, "%s", out);
	snprintf(args, sizeof(args), "--roots root.pem --roots rootb.pem --bundles-from 'file://%s/since.der' "
	         "--chain c-cross.pem --time %" PRId64, corpus, test_now);
	ck_assert_int_eq(cli(out, sizeof(out), args), 0);
	ck_assert_msg(strstr(out, " bundle=3 ") != NULL, "%s", out);
	snprintf(args, sizeof(args), "--roots root.pem --bundles-from since-bad.der --chain c-cross.pem");
	ck_assert_int_eq(cli(out, sizeof(out), args), 1);
	ck_assert_msg(strstr(out, "MFV_ERR_BAD_SIGNATURE") != NULL &&
	              strstr(out, "1 bundles applied") != NULL && strstr(out, "version 2") != NULL,
	              "%s", out);
	ck_assert_int_eq(cli(out, sizeof(out), "--roots root.pem --bundles-from nothing.der "
	                     "--chain c-cross.pem"), 2);
	snprintf(args, sizeof(args), "--roots root.pem --bundles-from 'file://%s/nothing.der' "
	         "--chain c-cross.pem", corpus);
	ck_assert_int_eq(cli(out, sizeof(out), args), 2);
}
END_TEST

static void
load_cases(void)
{
	char path[512], line[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/verify/cases.txt", MFV_TEST_SRCDIR);
	f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	while (fgets(line, sizeof(line), f) != NULL && ncases < (int)(sizeof(cases) / sizeof(cases[0]))) {
		struct tcase_line *t = &cases[ncases];
		int off = 0;

		if ((p = strchr(line, '\n')) != NULL)
			*p = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if (sscanf(line, "%63s %127s %63s %n", t->name, t->chain, t->expect, &off) < 3) {
			fprintf(stderr, "%s: bad line: %s\n", path, line);
			exit(EXIT_FAILURE);
		}
		snprintf(t->opts, sizeof(t->opts), "%s", off > 0 ? line + off : "");
		ncases++;
	}
	fclose(f);
}

int
main(void)
{
	char cmd[1024], path[512];
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	Suite *s;
	TCase *tc;
	FILE *f;
	int failed;
	long long now;

	snprintf(corpus, sizeof(corpus), "%s/mfv-corpus-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(corpus) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/verify/gen-corpus.sh' '%s' > '%s/gen.log' 2>&1",
	         MFV_TEST_SRCDIR, corpus, corpus);
	if (system(cmd) != 0) {
		fprintf(stderr, "gen-corpus.sh failed, see %s/gen.log\n", corpus);
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "%s/now", corpus);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%lld", &now) != 1) {
		fprintf(stderr, "cannot read %s\n", path);
		return EXIT_FAILURE;
	}
	fclose(f);
	gen_now = now;
	snprintf(path, sizeof(path), "%s/tnow", corpus);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%lld", &now) != 1) {
		fprintf(stderr, "cannot read %s\n", path);
		return EXIT_FAILURE;
	}
	fclose(f);
	test_now = now;
	load_cases();

	s = suite_create("verify");
	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_case, 0, ncases);
	suite_add_tcase(s, tc);
	tc = tcase_create("api");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lkgt);
	tcase_add_test(tc, test_result_fields);
	tcase_add_test(tc, test_chain_only);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_der);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_pss_params);
	suite_add_tcase(s, tc);
	tc = tcase_create("bundle");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bundle_rotation);
	tcase_add_test(tc, test_bundle_expiry_and_format);
	tcase_add_test(tc, test_bundle_since);
	tcase_add_test(tc, test_bundle_since_limits);
	tcase_add_test(tc, test_bundle_cli);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cli);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", corpus);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", corpus);
	} else {
		fprintf(stderr, "corpus kept in %s\n", corpus);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
