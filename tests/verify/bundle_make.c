/*
 * bundle_make.c - build and sign mayfly trust bundles with OpenSSL.
 *
 * A small DER writer (definite lengths, built inside out) plus
 * EVP_DigestSign.  It writes what mayfly-bundle(5) specifies and nothing
 * else, so that the device-side parser is tested against an encoder that
 * was written from the specification, not from the parser.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "bundle_make.h"

struct buf {
	unsigned char *p;
	size_t len;
};

static int
put(struct buf *b, const void *p, size_t n)
{
	unsigned char *q = realloc(b->p, b->len + n + 1);

	if (q == NULL)
		return -1;
	memcpy(q + b->len, p, n);
	b->p = q;
	b->len += n;
	return 0;
}

/* Append tag, DER length and contents. */
static int
tlv(struct buf *b, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[4];
	size_t hl;

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (unsigned char)n;
		hl = 2;
	} else if (n < 0x100) {
		h[1] = 0x81;
		h[2] = (unsigned char)n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	}
	if (put(b, h, hl) != 0)
		return -1;
	return n > 0 ? put(b, p, n) : 0;
}

/* Wrap the whole of inner as one TLV appended to b; frees inner. */
static int
wrap(struct buf *b, unsigned char tag, struct buf *inner)
{
	int rc = tlv(b, tag, inner->p, inner->len);

	free(inner->p);
	inner->p = NULL;
	inner->len = 0;
	return rc;
}

static int
uint_der(struct buf *b, uint32_t v)
{
	unsigned char x[5];
	size_t n = 0, i;

	x[0] = 0;
	for (i = 0; i < 4; i++)
		x[1 + i] = (unsigned char)(v >> (24 - 8 * i));
	/* Minimal: skip leading zero octets unless the next has the top bit. */
	for (n = 0; n < 4 && x[n] == 0 && (x[n + 1] & 0x80) == 0; n++)
		;
	return tlv(b, 0x02, x + n, 5 - n);
}

static int
gentime(struct buf *b, unsigned char tag, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	if (gmtime_r(&tt, &tm) == NULL || strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm) != 15)
		return -1;
	return tlv(b, tag, s, 15);
}

static int
read_cert_der(const char *pem, unsigned char **der, int *len)
{
	BIO *bio = BIO_new_file(pem, "r");
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	int rc = -1;

	*der = NULL;
	if (x != NULL && (*len = i2d_X509(x, der)) > 0)
		rc = 0;
	X509_free(x);
	BIO_free(bio);
	return rc;
}

int
mkb_pin(const char *pem, int spki, uint8_t out[32])
{
	BIO *bio = BIO_new_file(pem, "r");
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = -1, rc = -1;

	if (x != NULL)
		len = spki ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : i2d_X509(x, &der);
	if (len > 0 && EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(), NULL) == 1)
		rc = 0;
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return rc;
}

/* AlgorithmIdentifier for what we sign with, by key type. */
static int
algid(EVP_PKEY *k, struct buf *b, const EVP_MD **md)
{
	static const unsigned char ecdsa256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	static const unsigned char rsa256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	static const unsigned char ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_EC: *md = EVP_sha256(); return put(b, ecdsa256, sizeof(ecdsa256));
	case EVP_PKEY_RSA: *md = EVP_sha256(); return put(b, rsa256, sizeof(rsa256));
	case EVP_PKEY_ED25519: *md = NULL; return put(b, ed25519, sizeof(ed25519));
	}
	return -1;
}

static int
sign_one(const struct buf *tbs, const char *certfile, const char *keyfile, struct buf *out)
{
	struct buf sig = { NULL, 0 }, bits = { NULL, 0 };
	unsigned char *der = NULL, *s = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *k = NULL;
	const EVP_MD *md;
	BIO *bio = NULL;
	size_t slen = 0;
	int dlen, rc = -1;

	if (read_cert_der(certfile, &der, &dlen) != 0 || (bio = BIO_new_file(keyfile, "r")) == NULL ||
	    (k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	if (put(&sig, der, (size_t)dlen) != 0 || algid(k, &sig, &md) != 0)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit(mctx, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(mctx, NULL, &slen, tbs->p, tbs->len) != 1 ||
	    (s = OPENSSL_malloc(slen + 1)) == NULL ||
	    EVP_DigestSign(mctx, s + 1, &slen, tbs->p, tbs->len) != 1)
		goto out;
	s[0] = 0; /* BIT STRING: no unused bits */
	if (tlv(&sig, 0x03, s, slen + 1) != 0 || wrap(out, 0x30, &sig) != 0)
		goto out;
	rc = 0;
out:
	free(sig.p);
	free(bits.p);
	OPENSSL_free(s);
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(k);
	BIO_free(bio);
	return rc;
}

int
mkb_make(const struct mkb_spec *spec, unsigned char **out, size_t *out_len)
{
	struct buf tbs = { NULL, 0 }, body = { NULL, 0 }, roots = { NULL, 0 }, sigs = { NULL, 0 },
	           all = { NULL, 0 }, top = { NULL, 0 };
	size_t i;
	int rc = -1;

	/* TBSTrustBundle */
	if (uint_der(&body, 1) || uint_der(&body, spec->version) || gentime(&body, 0x18, spec->issued_at))
		goto out;
	if (spec->not_after != 0 && gentime(&body, 0x80, spec->not_after))
		goto out;
	if (uint_der(&body, spec->threshold))
		goto out;
	for (i = 0; i < spec->n_roots; i++)
		if (tlv(&roots, 0x04, spec->roots[i], 32))
			goto out;
	if (wrap(&body, 0x30, &roots) || wrap(&tbs, 0x30, &body))
		goto out;
	/* signatures over the TBSTrustBundle TLV */
	for (i = 0; i < spec->n_signers; i++)
		if (sign_one(&tbs, spec->signer_certs[i], spec->signer_keys[i], &sigs) != 0)
			goto out;
	if (put(&all, tbs.p, tbs.len) || wrap(&all, 0x30, &sigs) || wrap(&top, 0x30, &all))
		goto out;
	*out = top.p;
	*out_len = top.len;
	top.p = NULL;
	rc = 0;
out:
	free(tbs.p);
	free(body.p);
	free(roots.p);
	free(sigs.p);
	free(all.p);
	free(top.p);
	return rc;
}
