/*
 * alg.c - algorithm identifiers, public keys and signature dispatch.
 *
 * This file decides which (key, signature algorithm) pairs the verifier
 * accepts and turns them into one backend call.  The list is deliberately
 * short: ECDSA P-256/P-384 with SHA-256/384, RSA 2048..4096 with PKCS#1
 * v1.5 or PSS over SHA-256/384, and Ed25519.  Everything else, SHA-1 in
 * particular, is refused before any crypto runs.  Encodings the backend
 * relies on (point lengths, modulus size, ECDSA-Sig-Value shape) are
 * checked here so that every backend gets the same, already-strict input.
 *
 * A firmware build may leave out what its fleet never uses: MFV_NO_RSA
 * (PKCS#1 v1.5 and PSS) and MFV_NO_ED25519.  Those algorithms are then
 * refused as MFV_ERR_UNSUPPORTED_ALG and their backend functions are not
 * referenced.
 */
#include <string.h>
#include "mfv_int.h"

#ifdef MFV_NO_RSA
#define HAVE_RSA 0
#else
#define HAVE_RSA 1
#endif
#ifdef MFV_NO_ED25519
#define HAVE_ED25519 0
#else
#define HAVE_ED25519 1
#endif

static const uint8_t seq_end[] = { MFVI_SEQUENCE, 0 };
static const uint8_t two_ints[] = { MFVI_INTEGER, MFVI_INTEGER, 0 };

/* OID families compared by their prefix, then the last arc:
 * pkcs-1 1.2.840.113549.1.1.x (rsaEncryption .1, mgf1 .8, RSASSA-PSS .10,
 * sha256WithRSA .11, sha384WithRSA .12), ecdsa-with-SHA2
 * 1.2.840.10045.4.3.x (.2, .3), and the NIST hashes 2.16.840.1.101.3.4.2.x
 * (SHA-256 .1, SHA-384 .2). */
static const uint8_t PKCS1[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01 };
static const uint8_t ECDSA_SHA2[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03 };
static const uint8_t NIST_HASH[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02 };
static const uint8_t OID_EC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t OID_ED25519[] = { 0x2b, 0x65, 0x70 };

/* The last arc of oid if it is prefix (n octets) plus one octet, else -1. */
static int
arc(const struct mfvi_der *oid, const uint8_t *prefix, size_t n)
{
	return oid->len == n + 1 && memcmp(oid->p, prefix, n) == 0 ? oid->p[n] : -1;
}

size_t
mfv_hash_len(enum mfv_hash_alg alg)
{
	switch (alg) {
	case MFV_HASH_SHA1: return 20;
	case MFV_HASH_SHA256: return 32;
	case MFV_HASH_SHA384: return 48;
	}
	return 0;
}

/* Parameters that must be NULL or absent (RFC 4055 allows both for the
 * SHA-2 identifiers; RFC 5754 prefers absent). */
static int
null_or_absent(const struct mfvi_der *rest)
{
	struct mfvi_der r = *rest, v;
	int rc;

	if (r.len == 0)
		return 0;
	if ((rc = mfvi_der_get(&r, MFVI_NULL, &v)) != 0)
		return rc;
	if (v.len != 0)
		return MFV_ERR_DER_VALUE;
	return mfvi_der_end(&r);
}

/* A hash AlgorithmIdentifier (contents) for PSS: SHA-256 or SHA-384. */
static int
pss_hash(struct mfvi_der *algid, int *hash)
{
	struct mfvi_der oid;
	int rc;

	if ((rc = mfvi_der_get(algid, MFVI_OID, &oid)) != 0)
		return rc;
	switch (arc(&oid, NIST_HASH, sizeof(NIST_HASH))) {
	case 1: *hash = MFV_HASH_SHA256; break;
	case 2: *hash = MFV_HASH_SHA384; break;
	default: return MFV_ERR_UNSUPPORTED_ALG;
	}
	return null_or_absent(algid);
}

/* RSASSA-PSS-params (RFC 4055 3.1).  We need hashAlgorithm and the MGF1
 * hash present and equal (so neither may take the SHA-1 default), a
 * salt length, and the default trailer field, which DER forbids
 * encoding. */
/* [n] EXPLICIT <inner>: the whole of r must be that one value. */
static int
explicit(struct mfvi_der *r, uint8_t n, uint8_t inner, struct mfvi_der *out)
{
	uint8_t tags[2];
	struct mfvi_der x;
	int rc;

	tags[0] = inner;
	tags[1] = 0;
	if ((rc = mfvi_der_get(r, MFVI_CTXC(n), &x)) != 0)
		return rc == MFV_ERR_DER_TAG ? MFV_ERR_UNSUPPORTED_ALG : rc;
	return mfvi_der_seq(&x, tags, 2, out, NULL);
}

static int
pss_params(struct mfvi_der *r, uint8_t *alg, uint16_t *salt)
{
	static const uint8_t oid_seq_end[] = { MFVI_OID, MFVI_SEQUENCE, 0 };
	struct mfvi_der seq, x, y[2];
	int rc, h1, h2;
	uint32_t s;

	if ((rc = mfvi_der_seq(r, seq_end, 2, &seq, NULL)) != 0 ||
	    (rc = explicit(&seq, 0, MFVI_SEQUENCE, &x)) != 0 || (rc = pss_hash(&x, &h1)) != 0 ||
	    (rc = explicit(&seq, 1, MFVI_SEQUENCE, &x)) != 0 ||
	    (rc = mfvi_der_seq(&x, oid_seq_end, 3, y, NULL)) != 0)
		return rc;
	if (arc(&y[0], PKCS1, sizeof(PKCS1)) != 8)
		return MFV_ERR_UNSUPPORTED_ALG;
	if ((rc = pss_hash(&y[1], &h2)) != 0 ||
	    (rc = explicit(&seq, 2, MFVI_INTEGER, &x)) != 0 ||
	    (rc = mfvi_der_small_uint(&x, &s)) != 0)
		return rc;
	if (h1 != h2 || s > 512)
		return MFV_ERR_UNSUPPORTED_ALG;
	/* trailerField [3] must be absent: its only legal value is the
	 * DEFAULT. */
	if ((rc = mfvi_der_end(&seq)) != 0)
		return rc;
	*alg = h1 == MFV_HASH_SHA256 ? MFVI_SIG_PSS_SHA256 : MFVI_SIG_PSS_SHA384;
	*salt = (uint16_t)s;
	return 0;
}

int
mfvi_sig_alg(const struct mfvi_der *algid, uint8_t *alg, uint16_t *salt)
{
	struct mfvi_der r = *algid, oid;
	int rc, k;

	*salt = 0;
	if ((rc = mfvi_der_get(&r, MFVI_OID, &oid)) != 0)
		return rc;
	k = arc(&oid, ECDSA_SHA2, sizeof(ECDSA_SHA2));
	if (k == 2 || k == 3) {
		/* RFC 5758 3.2: parameters absent. */
		*alg = k == 2 ? MFVI_SIG_ECDSA_SHA256 : MFVI_SIG_ECDSA_SHA384;
		return mfvi_der_end(&r);
	}
	k = HAVE_RSA ? arc(&oid, PKCS1, sizeof(PKCS1)) : -1;
	if (k == 0x0b || k == 0x0c) {
		*alg = k == 0x0b ? MFVI_SIG_RSA_SHA256 : MFVI_SIG_RSA_SHA384;
		return null_or_absent(&r);
	}
	if (k == 0x0a)
		return pss_params(&r, alg, salt);
	if (HAVE_ED25519 && MFVI_OID_IS(&oid, OID_ED25519)) {
		*alg = MFVI_SIG_ED25519; /* RFC 8410 3: parameters absent */
		return mfvi_der_end(&r);
	}
	return MFV_ERR_UNSUPPORTED_ALG;
}

/* Strip the leading zero of a positive minimal INTEGER. */
static int
positive_int(const struct mfvi_der *v, struct mfv_span *out)
{
	int rc;

	if ((rc = mfvi_der_int_minimal(v)) != 0)
		return rc;
	if ((v->p[0] & 0x80) != 0)
		return MFV_ERR_BAD_KEY;
	out->p = v->p;
	out->len = (uint32_t)v->len;
	if (out->p[0] == 0 && out->len > 1) {
		out->p++;
		out->len--;
	}
	if (out->p[0] == 0)
		return MFV_ERR_BAD_KEY; /* zero */
	return 0;
}

static int
rsa_key(const struct mfvi_der *bits, struct mfv_cert *c)
{
	struct mfvi_der r = *bits, seq, ne[2];
	int rc;

	if ((rc = mfvi_der_seq(&r, seq_end, 2, &seq, NULL)) != 0 ||
	    (rc = mfvi_der_seq(&seq, two_ints, 3, ne, NULL)) != 0)
		return rc;
	if ((rc = positive_int(&ne[0], &c->key_a)) != 0 || (rc = positive_int(&ne[1], &c->key_b)) != 0)
		return rc;
	/* 2048 to 4096 bits and, BR 6.1.5, a multiple of 8: so the top bit
	 * of the first octet (not zero: positive_int() strips the sign
	 * octet) is set and there are 256 to 512 octets. */
	if (!(c->key_a.p[0] & 0x80) || c->key_a.len < 256 || c->key_a.len > 512)
		return MFV_ERR_WEAK_KEY;
	/* e must be odd and greater than 1; more than 64 bits is absurd. */
	if (c->key_b.len > 8 || (c->key_b.p[c->key_b.len - 1] & 1) == 0 ||
	    (c->key_b.len == 1 && c->key_b.p[0] < 3))
		return MFV_ERR_BAD_KEY;
	c->key_type = MFV_KEY_RSA;
	return 0;
}

int
mfvi_spki(const struct mfvi_der *spki, struct mfv_cert *c)
{
	static const uint8_t shape[] = { MFVI_SEQUENCE, MFVI_BIT_STRING, 0 };
	struct mfvi_der r = *spki, v[2], algid, oid, key, curve;
	size_t plen;
	uint8_t type;
	int rc;

	if ((rc = mfvi_der_seq(&r, shape, 3, v, NULL)) != 0 ||
	    (rc = mfvi_der_bits_octets(&v[1], &key)) != 0)
		return rc;
	algid = v[0];
	if ((rc = mfvi_der_get(&algid, MFVI_OID, &oid)) != 0)
		return rc;
	/* key_b stays as mfvi_cert_parse() cleared it, except for RSA. */
	c->keybits.p = key.p;
	c->keybits.len = (uint32_t)key.len;
	c->key_a = c->keybits;
	if (HAVE_RSA && arc(&oid, PKCS1, sizeof(PKCS1)) == 1) {
		/* RFC 3279 2.3.1: parameters NULL (here we insist). */
		static const uint8_t null_end[] = { MFVI_NULL, 0 };
		struct mfvi_der nul;
		if ((rc = mfvi_der_seq(&algid, null_end, 2, &nul, NULL)) != 0)
			return rc;
		if (nul.len != 0)
			return MFV_ERR_DER_VALUE;
		return rsa_key(&key, c);
	}
	if (MFVI_OID_IS(&oid, OID_EC)) {
		if ((rc = mfvi_der_get(&algid, MFVI_OID, &curve)) != 0)
			return rc == MFV_ERR_DER_TAG ? MFV_ERR_UNSUPPORTED_ALG : rc;
		if (MFVI_OID_IS(&curve, OID_P256)) {
			type = MFV_KEY_EC_P256;
			plen = 65;
		} else if (MFVI_OID_IS(&curve, OID_P384)) {
			type = MFV_KEY_EC_P384;
			plen = 97;
		} else {
			return MFV_ERR_UNSUPPORTED_ALG;
		}
		/* Uncompressed points only (RFC 5480 2.2 makes compressed
		 * optional and nobody issues them). */
		if (key.len > 0 && key.p[0] != 0x04)
			return MFV_ERR_BAD_KEY;
	} else if (HAVE_ED25519 && MFVI_OID_IS(&oid, OID_ED25519)) {
		type = MFV_KEY_ED25519; /* RFC 8410 3: parameters absent */
		plen = 32;
	} else {
		return MFV_ERR_UNSUPPORTED_ALG;
	}
	if ((rc = mfvi_der_end(&algid)) != 0)
		return rc;
	if (key.len != plen)
		return MFV_ERR_BAD_KEY;
	c->key_type = type;
	return 0;
}

void
mfvi_cert_pubkey(const struct mfv_cert *c, struct mfv_pubkey *k)
{
	k->type = (enum mfv_key_type)c->key_type;
	k->spki = c->spki.p;
	k->spki_len = c->spki.len;
	k->a = c->key_a.p;
	k->a_len = c->key_a.len;
	k->b = c->key_b.p;
	k->b_len = c->key_b.len;
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, both positive and
 * no longer than the group order (plus a sign octet). */
static int
ecdsa_sig_shape(const uint8_t *sig, size_t sig_len, size_t max)
{
	struct mfvi_der r = { sig, sig_len }, seq, rs[2];
	struct mfv_span v;
	int i;

	if (mfvi_der_seq(&r, seq_end, 2, &seq, NULL) != 0 ||
	    mfvi_der_seq(&seq, two_ints, 3, rs, NULL) != 0)
		return MFV_ERR_BAD_SIGNATURE;
	for (i = 0; i < 2; i++)
		if (positive_int(&rs[i], &v) != 0 || v.len > max)
			return MFV_ERR_BAD_SIGNATURE;
	return 0;
}

int
mfvi_sig_check(const struct mfv_cert *signer, uint8_t alg, uint16_t salt,
               const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	uint8_t h[MFV_HASH_MAX_LEN];
	struct mfv_pubkey k;
	enum mfv_hash_alg ha;
	int rc, kt = signer->key_type;

	mfvi_cert_pubkey(signer, &k);
	if (HAVE_ED25519 && alg == MFVI_SIG_ED25519) {
		if (kt != MFV_KEY_ED25519)
			return MFV_ERR_SIG_ALG_MISMATCH;
		if (sig_len != 64)
			return MFV_ERR_BAD_SIGNATURE;
		return mfv_be_ed25519_verify(&k, msg, msg_len, sig, sig_len);
	}
	/* The MFVI_SIG_* values alternate SHA-256, SHA-384 from ECDSA on. */
	ha = (alg & 1) ? MFV_HASH_SHA256 : MFV_HASH_SHA384;
	if (alg == MFVI_SIG_ECDSA_SHA256 || alg == MFVI_SIG_ECDSA_SHA384) {
		if (kt != MFV_KEY_EC_P256 && kt != MFV_KEY_EC_P384)
			return MFV_ERR_SIG_ALG_MISMATCH;
		if (ecdsa_sig_shape(sig, sig_len, kt == MFV_KEY_EC_P256 ? 32 : 48) != 0)
			return MFV_ERR_BAD_SIGNATURE;
	} else if (HAVE_RSA && alg >= MFVI_SIG_RSA_SHA256 && alg <= MFVI_SIG_PSS_SHA384) {
		if (kt != MFV_KEY_RSA)
			return MFV_ERR_SIG_ALG_MISMATCH;
		/* RFC 8017 8.2.2 step 1: the signature is exactly k octets. */
		if (sig_len != signer->key_a.len)
			return MFV_ERR_BAD_SIGNATURE;
	} else {
		return MFV_ERR_UNSUPPORTED_ALG;
	}
	if ((rc = mfv_be_hash(ha, msg, msg_len, h)) != 0)
		return rc;
	if (!HAVE_RSA || alg <= MFVI_SIG_ECDSA_SHA384)
		return mfv_be_ecdsa_verify(&k, h, mfv_hash_len(ha), sig, sig_len);
	if (alg <= MFVI_SIG_RSA_SHA384)
		return mfv_be_rsa_pkcs1_verify(&k, ha, h, mfv_hash_len(ha), sig, sig_len);
	return mfv_be_rsa_pss_verify(&k, ha, salt, h, mfv_hash_len(ha), sig, sig_len);
}
