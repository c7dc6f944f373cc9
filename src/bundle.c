/*
 * bundle.c: trust bundles on the CA's side (mayfly-bundle(5)): a small
 * DER writer and a strict reader for the one shape the format defines,
 * and the signing step of a ceremony.
 *
 * The reader is deliberately as strict as the device's (definite minimal
 * lengths, minimal INTEGERs, no trailing bytes): a file the CA accepts
 * for signing must be one devices can parse. It differs in one point
 * only: it accepts an empty signatures SEQUENCE, the state of a bundle
 * between `mayfly bundle create` and its first signature.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "ceremony.h"
#include "mferr.h"

#define T_INTEGER	0x02
#define T_BIT_STRING	0x03
#define T_OCTET_STRING	0x04
#define T_GENTIME	0x18
#define T_SEQUENCE	0x30
#define T_CTX0		0x80	/* [0] IMPLICIT, primitive */

/* ---- writing -------------------------------------------------------------- */

struct mf_dbuf {
	unsigned char *p;
	size_t len;
	int err;
};

static void
mf_dput(struct mf_dbuf *b, const void *p, size_t n)
{
	unsigned char *q;

	if (b->err || n == 0)
		return;
	if ((q = realloc(b->p, b->len + n)) == NULL) {
		b->err = 1;
		return;
	}
	memcpy(q + b->len, p, n);
	b->p = q;
	b->len += n;
}

/* Tag, minimal definite length, contents. */
static void
mf_dtlv(struct mf_dbuf *b, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[6];
	size_t hl = 0, k;

	h[hl++] = tag;
	if (n < 0x80)
		h[hl++] = (unsigned char)n;
	else {
		for (k = 0; k < 4 && (n >> (8 * k)) != 0; k++)
			;
		h[hl++] = (unsigned char)(0x80 | k);
		while (k-- > 0)
			h[hl++] = (unsigned char)(n >> (8 * k));
	}
	mf_dput(b, h, hl);
	mf_dput(b, p, n);
}

/* A non-negative INTEGER in the fewest octets (a leading 0 when the top bit is set). */
static void
mf_dint(struct mf_dbuf *b, uint32_t v)
{
	unsigned char c[5];
	size_t n = 0, i;

	for (i = 0; i < 4; i++) {
		unsigned char o = (unsigned char)(v >> (8 * (3 - i)));

		if (n == 0 && o == 0 && i < 3)
			continue;
		if (n == 0 && (o & 0x80))
			c[n++] = 0;
		c[n++] = o;
	}
	mf_dtlv(b, T_INTEGER, c, n);
}

static void
mf_dtime(struct mf_dbuf *b, unsigned char tag, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm) != 15) {
		b->err = 1;
		return;
	}
	mf_dtlv(b, tag, s, 15);
}

static int
mf_bundle_tbs(struct mf_bundle *b)
{
	struct mf_dbuf body = { NULL, 0, 0 }, roots = { NULL, 0, 0 }, tbs = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < b->nroots; i++)
		mf_dtlv(&roots, T_OCTET_STRING, b->roots[i], 32);
	mf_dint(&body, 1);
	mf_dint(&body, b->version);
	mf_dtime(&body, T_GENTIME, b->issued_at);
	if (b->not_after != 0)
		mf_dtime(&body, T_CTX0, b->not_after);
	mf_dint(&body, b->threshold);
	mf_dtlv(&body, T_SEQUENCE, roots.p, roots.len);
	if (!body.err && !roots.err)
		mf_dtlv(&tbs, T_SEQUENCE, body.p, body.len);
	free(body.p);
	free(roots.p);
	if (body.err || roots.err || tbs.err) {
		free(tbs.p);
		return MF_ERR_NOMEM;
	}
	free(b->tbs);
	b->tbs = tbs.p;
	b->tbs_len = tbs.len;
	return MF_OK;
}

int
mf_bundle_encode(const struct mf_bundle *b, unsigned char **der, size_t *len)
{
	struct mf_dbuf sigs = { NULL, 0, 0 }, body = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	size_t i;

	*der = NULL;
	*len = 0;
	if (b == NULL || b->tbs == NULL)
		return MF_ERR_INVAL;
	for (i = 0; i < b->nsigs; i++) {
		const struct mf_bundle_sig *s = &b->sigs[i];
		struct mf_dbuf one = { NULL, 0, 0 }, bits = { NULL, 0, 0 };
		unsigned char pad = 0;

		mf_dput(&bits, &pad, 1);
		mf_dput(&bits, s->sig, s->sig_len);
		mf_dput(&one, s->cert, s->cert_len);
		mf_dput(&one, s->alg, s->alg_len);
		mf_dtlv(&one, T_BIT_STRING, bits.p, bits.len);
		if (bits.err || one.err)
			sigs.err = 1;
		else
			mf_dtlv(&sigs, T_SEQUENCE, one.p, one.len);
		free(bits.p);
		free(one.p);
	}
	mf_dput(&body, b->tbs, b->tbs_len);
	if (!sigs.err)
		mf_dtlv(&body, T_SEQUENCE, sigs.p, sigs.len);
	if (!sigs.err && !body.err)
		mf_dtlv(&out, T_SEQUENCE, body.p, body.len);
	free(sigs.p);
	free(body.p);
	if (sigs.err || body.err || out.err) {
		free(out.p);
		return MF_ERR_NOMEM;
	}
	*der = out.p;
	*len = out.len;
	return MF_OK;
}

int
mf_bundle_new(uint32_t version, int64_t issued_at, int64_t not_after, uint32_t threshold,
    const unsigned char (*roots)[32], size_t nroots, struct mf_bundle **out)
{
	struct mf_bundle *b;
	size_t i, j;
	int rc;

	*out = NULL;
	if (version == 0 || version > INT32_MAX || roots == NULL || nroots == 0 ||
	    nroots > MF_BUNDLE_MAX_ROOTS || threshold == 0 || threshold > nroots ||
	    issued_at <= 0 || (not_after != 0 && not_after <= issued_at))
		return MF_ERR_INVAL;
	for (i = 0; i < nroots; i++)
		for (j = 0; j < i; j++)
			if (memcmp(roots[i], roots[j], 32) == 0)
				return MF_ERR_INVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return MF_ERR_NOMEM;
	b->version = version;
	b->issued_at = issued_at;
	b->not_after = not_after;
	b->threshold = threshold;
	memcpy(b->roots, roots, nroots * 32);
	b->nroots = nroots;
	if ((rc = mf_bundle_tbs(b)) != MF_OK) {
		mf_bundle_free(b);
		return rc;
	}
	*out = b;
	return MF_OK;
}

void
mf_bundle_free(struct mf_bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nsigs; i++) {
		free(b->sigs[i].cert);
		free(b->sigs[i].alg);
		free(b->sigs[i].sig);
	}
	free(b->tbs);
	free(b);
}

/* ---- reading -------------------------------------------------------------- */

struct mf_dder {
	const unsigned char *p;
	size_t len;
};

/*
 * Takes one TLV of the given tag from r: its contents in *v and, if whole
 * is not NULL, the whole TLV. Strict DER lengths. -1 on any error.
 */
static int
mf_dget(struct mf_dder *r, unsigned char tag, struct mf_dder *v, struct mf_dder *whole)
{
	size_t n, hl = 2, k;

	if (r->len < 2 || r->p[0] != tag)
		return -1;
	n = r->p[1];
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || r->len < 2 + k || r->p[2] == 0)
			return -1;
		for (n = 0, hl = 2; hl < 2 + k; hl++)
			n = (n << 8) | r->p[hl];
		if (n < 0x80)
			return -1;	/* the short form was required */
	}
	if (n > r->len - hl)
		return -1;
	if (whole != NULL) {
		whole->p = r->p;
		whole->len = hl + n;
	}
	v->p = r->p + hl;
	v->len = n;
	r->p += hl + n;
	r->len -= hl + n;
	return 0;
}

/* A minimal non-negative INTEGER up to 2^31-1. */
static int
mf_duint(struct mf_dder *r, uint32_t *out)
{
	struct mf_dder v;
	uint64_t x = 0;
	size_t i;

	if (mf_dget(r, T_INTEGER, &v, NULL) != 0 || v.len == 0 || v.len > 5 ||
	    (v.p[0] & 0x80) || (v.len > 1 && v.p[0] == 0 && !(v.p[1] & 0x80)))
		return -1;
	for (i = 0; i < v.len; i++)
		x = (x << 8) | v.p[i];
	if (x > INT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int
mf_dtime_get(struct mf_dder *r, unsigned char tag, int64_t *out)
{
	struct mf_dder v;
	struct tm tm;
	int f[6], i, k;
	static const int w[6] = { 4, 2, 2, 2, 2, 2 };
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const unsigned char *s;

	if (mf_dget(r, tag, &v, NULL) != 0 || v.len != 15 || v.p[14] != 'Z')
		return -1;
	for (i = 0, s = v.p; i < 6; i++) {
		f[i] = 0;
		for (k = 0; k < w[i]; k++, s++) {
			if (*s < '0' || *s > '9')
				return -1;
			f[i] = f[i] * 10 + (*s - '0');
		}
	}
	if (f[0] < 1 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 59)
		return -1;
	/*
	 * No year 0 and no day past the end of its month, as on devices:
	 * timegm() would move 31 February into March, and `bundle show` would
	 * print a date other than the one signed, for a bundle that devices
	 * refuse as malformed.
	 */
	if (f[2] > mdays[f[1] - 1] + (f[1] == 2 && ((f[0] % 4 == 0 && f[0] % 100 != 0) ||
	    f[0] % 400 == 0)))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	*out = (int64_t)timegm(&tm);
	return 0;
}

static unsigned char *
mf_ddup(const struct mf_dder *v)
{
	unsigned char *p = malloc(v->len ? v->len : 1);

	if (p != NULL)
		memcpy(p, v->p, v->len);
	return p;
}

int
mf_bundle_parse(const unsigned char *der, size_t len, struct mf_bundle **out)
{
	struct mf_dder r = { der, len }, outer, tbsw, tbs, sigs, roots, v, x;
	struct mf_bundle *b = NULL;
	uint32_t format;
	int rc = MF_ERR_BUNDLE_MALFORMED;

	*out = NULL;
	if (der == NULL || len == 0 || len > MF_BUNDLE_MAX_LEN)
		return MF_ERR_BUNDLE_MALFORMED;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return MF_ERR_NOMEM;
	if (mf_dget(&r, T_SEQUENCE, &outer, NULL) != 0 || r.len != 0 ||
	    mf_dget(&outer, T_SEQUENCE, &tbs, &tbsw) != 0 ||
	    mf_dget(&outer, T_SEQUENCE, &sigs, NULL) != 0 || outer.len != 0)
		goto out;
	if (mf_duint(&tbs, &format) != 0 || format != 1 ||
	    mf_duint(&tbs, &b->version) != 0 || b->version == 0 ||
	    mf_dtime_get(&tbs, T_GENTIME, &b->issued_at) != 0)
		goto out;
	if (tbs.len > 0 && tbs.p[0] == T_CTX0 && mf_dtime_get(&tbs, T_CTX0, &b->not_after) != 0)
		goto out;
	if (mf_duint(&tbs, &b->threshold) != 0 || mf_dget(&tbs, T_SEQUENCE, &roots, NULL) != 0 ||
	    tbs.len != 0)
		goto out;
	while (roots.len > 0) {
		if (b->nroots == MF_BUNDLE_MAX_ROOTS || mf_dget(&roots, T_OCTET_STRING, &v, NULL) != 0 ||
		    v.len != 32)
			goto out;
		memcpy(b->roots[b->nroots++], v.p, 32);
	}
	if (b->nroots == 0 || b->threshold == 0 || b->threshold > b->nroots)
		goto out;
	while (sigs.len > 0) {
		struct mf_bundle_sig *s;
		struct mf_dder one, cert, alg, bits;

		if (b->nsigs == MF_BUNDLE_MAX_SIGS || mf_dget(&sigs, T_SEQUENCE, &one, NULL) != 0 ||
		    mf_dget(&one, T_SEQUENCE, &x, &cert) != 0 ||
		    mf_dget(&one, T_SEQUENCE, &x, &alg) != 0 ||
		    mf_dget(&one, T_BIT_STRING, &bits, NULL) != 0 || one.len != 0 ||
		    bits.len < 2 || bits.p[0] != 0)
			goto out;
		s = &b->sigs[b->nsigs++];
		bits.p++;
		bits.len--;
		if ((s->cert = mf_ddup(&cert)) == NULL || (s->alg = mf_ddup(&alg)) == NULL ||
		    (s->sig = mf_ddup(&bits)) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
		s->cert_len = cert.len;
		s->alg_len = alg.len;
		s->sig_len = bits.len;
	}
	if ((b->tbs = mf_ddup(&tbsw)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	b->tbs_len = tbsw.len;
	*out = b;
	b = NULL;
	rc = MF_OK;
out:
	mf_bundle_free(b);
	return rc;
}

/* ---- signing -------------------------------------------------------------- */

int
mf_bundle_pin_cert(X509 *cert, unsigned char pin[32])
{
	unsigned char *der = NULL;
	int len, ok;

	if (cert == NULL || (len = i2d_X509(cert, &der)) <= 0)
		return MF_ERR_CRYPTO;
	ok = EVP_Digest(der, (size_t)len, pin, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok == 1 ? MF_OK : MF_ERR_CRYPTO;
}

int
mf_bundle_pin_matches(X509 *cert, const unsigned char pin[32])
{
	unsigned char h[32], *spki = NULL;
	int len, match = 0;

	if (mf_bundle_pin_cert(cert, h) == MF_OK && memcmp(h, pin, 32) == 0)
		return 1;
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)len, h, NULL, EVP_sha256(), NULL) == 1)
		match = memcmp(h, pin, 32) == 0;
	OPENSSL_free(spki);
	return match;
}

/* The AlgorithmIdentifier for key's signatures (with md, NULL for Ed25519). */
static int
mf_bundle_alg(EVP_PKEY *key, const EVP_MD *md, unsigned char **der, int *len)
{
	X509_ALGOR *a = NULL;
	int id = EVP_PKEY_get_base_id(key), nid = NID_undef, rc = MF_ERR_SIGN;

	if (id == EVP_PKEY_ED25519)
		nid = NID_ED25519;
	else if (md == NULL || !OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md), id))
		return MF_ERR_SIGN;
	*der = NULL;
	/* RFC 4055: RSA PKCS#1 v1.5 carries NULL parameters; RFC 5758 and
	 * RFC 8410: ECDSA and Ed25519 carry none. */
	if ((a = X509_ALGOR_new()) != NULL &&
	    X509_ALGOR_set0(a, OBJ_nid2obj(nid), id == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF,
	    NULL) == 1 && (*len = i2d_X509_ALGOR(a, der)) > 0)
		rc = MF_OK;
	X509_ALGOR_free(a);
	return rc;
}

int
mf_bundle_sign(struct mf_bundle *b, X509 *cert, EVP_PKEY *key)
{
	struct mf_bundle_sig *s;
	EVP_MD_CTX *mctx = NULL;
	const EVP_MD *md;
	unsigned char *cder = NULL, *alg = NULL, *sig = NULL;
	int clen, alen = 0, rc;
	size_t i, slen = 0;

	if (b == NULL || cert == NULL || key == NULL || b->tbs == NULL)
		return MF_ERR_INVAL;
	if (b->nsigs == MF_BUNDLE_MAX_SIGS)
		return MF_ERR_INVAL;
	if ((clen = i2d_X509(cert, &cder)) <= 0)
		return MF_ERR_CRYPTO;
	for (i = 0; i < b->nsigs; i++) {
		if (b->sigs[i].cert_len == (size_t)clen &&
		    memcmp(b->sigs[i].cert, cder, (size_t)clen) == 0) {
			rc = MF_ERR_BUNDLE_SIGNED;
			goto out;
		}
	}
	md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : mf_sign_md(key);
	if ((rc = mf_bundle_alg(key, md, &alg, &alen)) != MF_OK)
		goto out;
	rc = MF_ERR_SIGN;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(mctx, NULL, &slen, b->tbs, b->tbs_len) != 1 ||
	    (sig = malloc(slen)) == NULL ||
	    EVP_DigestSign(mctx, sig, &slen, b->tbs, b->tbs_len) != 1)
		goto out;
	s = &b->sigs[b->nsigs];
	if ((s->cert = malloc((size_t)clen)) == NULL || (s->alg = malloc((size_t)alen)) == NULL) {
		free(s->cert);
		s->cert = NULL;
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(s->cert, cder, (size_t)clen);
	s->cert_len = (size_t)clen;
	memcpy(s->alg, alg, (size_t)alen);
	s->alg_len = (size_t)alen;
	s->sig = sig;
	s->sig_len = slen;
	sig = NULL;
	b->nsigs++;
	rc = MF_OK;
out:
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(cder);
	OPENSSL_free(alg);
	free(sig);
	return rc;
}
