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

static const uint8_t two_ints[] = { MFVI_INTEGER, MFVI_INTEGER, 0 };

/*
 * The identifiers we accept, as tables of AlgorithmIdentifier contents
 * (the OID TLV and the parameters).  DER gives each exactly one
 * encoding, so comparing octets is a complete parse, and one small loop
 * (lookup()) replaces a parser per family.  An entry is: the number of
 * octets, a value with flags, the octets.
 */
#define T_NULL 0x80 /* the octets may also be followed by NULL parameters */
#define T_REST 0x40 /* only a prefix: the parameters follow (RSASSA-PSS) */
#define T_VAL 0x3f

/* OID prefixes: pkcs-1 1.2.840.113549.1.1, ecdsa-with-SHA2
 * 1.2.840.10045.4.3, id-ecPublicKey 1.2.840.10045.2.1 and the named
 * curves secp256r1 1.2.840.10045.3.1.7 and secp384r1 1.3.132.0.34, the
 * NIST hashes 2.16.840.1.101.3.4.2, Ed25519 1.3.101.112. */
#define PKCS1(x) MFVI_OID, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, (x)
#define ECDSA_SHA2(x) MFVI_OID, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, (x)
#define EC_PUBKEY MFVI_OID, 7, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
#define NIST_HASH(x) MFVI_OID, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, (x)
#define ED25519 MFVI_OID, 3, 0x2b, 0x65, 0x70

/* Signature algorithms.  RFC 5758 3.2: ECDSA parameters absent; RFC
 * 4055 allows NULL or absent for the RSA SHA-2 ones (RFC 5754 prefers
 * absent); RFC 8410 3: Ed25519 parameters absent. */
static const uint8_t SIG_ALGS[] = {
	10, MFVI_SIG_ECDSA_SHA256, ECDSA_SHA2(2),
	10, MFVI_SIG_ECDSA_SHA384, ECDSA_SHA2(3),
#if HAVE_RSA
	11, T_NULL | MFVI_SIG_RSA_SHA256, PKCS1(11),
	11, T_NULL | MFVI_SIG_RSA_SHA384, PKCS1(12),
	/* RSASSA-PSS: the parameters pick the hash (pss_params()) */
	11, T_REST | MFVI_SIG_PSS_SHA256, PKCS1(10),
#endif
#if HAVE_ED25519
	5, MFVI_SIG_ED25519, ED25519,
#endif
	0
};

/* Hashes inside RSASSA-PSS parameters. */
static const uint8_t HASH_ALGS[] = {
	11, T_NULL | MFV_HASH_SHA256, NIST_HASH(1),
	11, T_NULL | MFV_HASH_SHA384, NIST_HASH(2),
	0
};

/* Public keys: RFC 3279 2.3.1, RSA parameters NULL (here we insist);
 * RFC 5480 2.1.1, a named curve; RFC 8410 3, Ed25519 parameters
 * absent. */
static const uint8_t KEY_ALGS[] = {
#if HAVE_RSA
	13, MFV_KEY_RSA, PKCS1(1), MFVI_NULL, 0,
#endif
	19, MFV_KEY_EC_P256, EC_PUBKEY, MFVI_OID, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
	16, MFV_KEY_EC_P384, EC_PUBKEY, MFVI_OID, 5, 0x2b, 0x81, 0x04, 0x00, 0x22,
#if HAVE_ED25519
	5, MFV_KEY_ED25519, ED25519,
#endif
	0
};

/* The value of the entry of table t that algid matches, else
 * MFV_ERR_UNSUPPORTED_ALG; *rest gets what follows a T_REST prefix. */
static int
lookup(const uint8_t *t, const struct mfvi_der *algid, struct mfvi_der *rest)
{
	const uint8_t *p = algid->p;
	size_t n, len = algid->len;

	for (; (n = t[0]) != 0; t += n + 2) {
		if (len < n || memcmp(p, t + 2, n) != 0)
			continue;
		if (len == n || (t[1] & T_REST) ||
		    ((t[1] & T_NULL) && len == n + 2 && p[n] == MFVI_NULL && p[n + 1] == 0)) {
			rest->p = p + n;
			rest->len = len - n;
			return t[1] & T_VAL;
		}
	}
	return MFV_ERR_UNSUPPORTED_ALG;
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

/* A hash AlgorithmIdentifier (contents) for PSS: SHA-256 or SHA-384. */
static int
pss_hash(const struct mfvi_der *algid, int *hash)
{
	struct mfvi_der rest;

	return (*hash = lookup(HASH_ALGS, algid, &rest)) < 0 ? *hash : 0;
}

/* RSASSA-PSS-params (RFC 4055 3.1): SEQUENCE { hashAlgorithm [0],
 * maskGenAlgorithm [1], saltLength [2], trailerField [3] }, each
 * EXPLICIT.  We need hashAlgorithm and the MGF1 hash present and equal
 * (so neither may take the SHA-1 default: a missing one is
 * MFV_ERR_UNSUPPORTED_ALG), a salt length, and the default trailer
 * field, which DER forbids encoding, so that it must be absent. */
static int
pss_params(struct mfvi_der *r, uint8_t *alg, uint16_t *salt)
{
	static const uint8_t tags[] = { MFVI_CTXC(0), MFVI_CTXC(1), MFVI_CTXC(2), 0 };
	/* id-mgf1 (1.2.840.113549.1.1.8) as a whole OID TLV */
	static const uint8_t mgf1[] = { PKCS1(8) };
	struct mfvi_der x[3];
	int rc, h1, h2;
	uint32_t s;

	if ((rc = mfvi_der_sole(r, MFVI_SEQUENCE)) != 0)
		return rc;
	if ((rc = mfvi_der_seq(r, tags, 4, x, NULL)) != 0)
		return rc == MFV_ERR_DER_TAG ? MFV_ERR_UNSUPPORTED_ALG : rc;
	if ((rc = mfvi_der_sole(&x[0], MFVI_SEQUENCE)) != 0 || (rc = pss_hash(&x[0], &h1)) != 0 ||
	    (rc = mfvi_der_sole(&x[1], MFVI_SEQUENCE)) != 0)
		return rc;
	/* MGF1 with its hash AlgorithmIdentifier as parameter */
	if (x[1].len < sizeof(mgf1) || memcmp(x[1].p, mgf1, sizeof(mgf1)) != 0)
		return MFV_ERR_UNSUPPORTED_ALG;
	x[1].p += sizeof(mgf1);
	x[1].len -= sizeof(mgf1);
	if ((rc = mfvi_der_sole(&x[1], MFVI_SEQUENCE)) != 0 || (rc = pss_hash(&x[1], &h2)) != 0 ||
	    (rc = mfvi_der_sole(&x[2], MFVI_INTEGER)) != 0 ||
	    (rc = mfvi_der_small_uint(&x[2], &s)) != 0)
		return rc;
	if (h1 != h2 || s > 512)
		return MFV_ERR_UNSUPPORTED_ALG;
	*alg = h1 == MFV_HASH_SHA256 ? MFVI_SIG_PSS_SHA256 : MFVI_SIG_PSS_SHA384;
	*salt = (uint16_t)s;
	return 0;
}

int
mfvi_sig_alg(const struct mfvi_der *algid, uint8_t *alg, uint16_t *salt)
{
	struct mfvi_der rest;
	int k;

	*salt = 0;
	if ((k = lookup(SIG_ALGS, algid, &rest)) < 0)
		return k;
	if (HAVE_RSA && k == MFVI_SIG_PSS_SHA256)
		return pss_params(&rest, alg, salt);
	*alg = (uint8_t)k;
	return 0;
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
	struct mfvi_der r = *bits, ne[2];
	int rc;

	if ((rc = mfvi_der_sole(&r, MFVI_SEQUENCE)) != 0 ||
	    (rc = mfvi_der_seq(&r, two_ints, 3, ne, NULL)) != 0)
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
	/* the key's length by type: EC P-256, P-384 (uncompressed points),
	 * Ed25519 */
	static const uint8_t plen[] = { 65, 97, 32 };
	struct mfvi_der r = *spki, v[2], key;
	int rc, type;

	if ((rc = mfvi_der_seq(&r, shape, 3, v, NULL)) != 0 ||
	    (rc = mfvi_der_bits_octets(&v[1], &key)) != 0)
		return rc;
	if ((type = lookup(KEY_ALGS, &v[0], &r)) < 0)
		return type;
	/* key_b stays as mfvi_cert_parse() cleared it, except for RSA. */
	c->keybits.p = key.p;
	c->keybits.len = (uint32_t)key.len;
	c->key_a = c->keybits;
	if (HAVE_RSA && type == MFV_KEY_RSA)
		return rsa_key(&key, c);
	/* Uncompressed points only (RFC 5480 2.2 makes compressed optional
	 * and nobody issues them): the first octet of an EC key is 04. */
	if (key.len != plen[type - MFV_KEY_EC_P256] || (type != MFV_KEY_ED25519 && key.p[0] != 0x04))
		return MFV_ERR_BAD_KEY;
	c->key_type = (uint8_t)type;
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
	struct mfvi_der r = { sig, sig_len }, rs[2];
	struct mfv_span v;
	int i;

	if (mfvi_der_sole(&r, MFVI_SEQUENCE) != 0 || mfvi_der_seq(&r, two_ints, 3, rs, NULL) != 0)
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
