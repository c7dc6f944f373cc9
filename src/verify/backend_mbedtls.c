/*
 * backend_mbedtls.c - the mbedTLS 2.28 crypto backend of libmayfly-verify.
 *
 * Implements mfv_backend.h for devices.  It calls mbedTLS's hash, ECP/ECDSA
 * and RSA modules directly, with the raw key components the core already
 * extracted and checked, instead of going through mbedtls_pk: the pk layer
 * would parse the SubjectPublicKeyInfo a second time and pull the signing
 * and key-writing code of every algorithm into a firmware image that only
 * ever verifies.
 *
 * Every call builds its mbedTLS objects on the stack and frees them before
 * returning, so the backend keeps no state.  Heap use is mbedTLS's own
 * bignum allocations (through its calloc hook; a firmware build points
 * that at a static buffer with MBEDTLS_MEMORY_BUFFER_ALLOC_C).
 *
 * Ed25519: mbedTLS 2.28 has no EdDSA at all, so mfv_be_ed25519_verify()
 * always returns MFV_ERR_UNSUPPORTED_ALG and a chain signed with Ed25519 is
 * refused with that code.  This is the one documented difference from the
 * OpenSSL backend; a device that must accept Ed25519 needs another backend.
 */
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include "mfv_backend.h"

int
mfv_be_hash(enum mfv_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
	uint8_t full[64];
	size_t i;
	int r;

	switch (alg) {
	case MFV_HASH_SHA1:
		r = mbedtls_sha1_ret(data, len, out);
		break;
	case MFV_HASH_SHA256:
		r = mbedtls_sha256_ret(data, len, out, 0);
		break;
	case MFV_HASH_SHA384:
		/* mbedtls_sha512_ret writes a 64-octet buffer even for SHA-384,
		 * and the caller's buffer is only 48 octets. */
		r = mbedtls_sha512_ret(data, len, full, 1);
		for (i = 0; r == 0 && i < 48; i++)
			out[i] = full[i];
		break;
	default:
		return MFV_ERR_UNSUPPORTED_ALG;
	}
	return r == 0 ? 0 : MFV_ERR_BACKEND;
}

static mbedtls_md_type_t
md_of(enum mfv_hash_alg alg)
{
	switch (alg) {
	case MFV_HASH_SHA1: return MBEDTLS_MD_SHA1;
	case MFV_HASH_SHA256: return MBEDTLS_MD_SHA256;
	case MFV_HASH_SHA384: return MBEDTLS_MD_SHA384;
	}
	return MBEDTLS_MD_NONE;
}

/* mbedTLS reports out-of-memory with module-specific codes; everything
 * else that goes wrong while checking a signature means "not valid". */
static int
is_alloc_failure(int r)
{
	return r == MBEDTLS_ERR_MPI_ALLOC_FAILED || r == MBEDTLS_ERR_ECP_ALLOC_FAILED;
}

int
mfv_be_ecdsa_verify(const struct mfv_pubkey *key, const uint8_t *hash, size_t hash_len,
                    const uint8_t *sig, size_t sig_len)
{
	mbedtls_ecdsa_context ec;
	mbedtls_ecp_group_id gid;
	int r, rc;

	if (key->type == MFV_KEY_EC_P256)
		gid = MBEDTLS_ECP_DP_SECP256R1;
	else if (key->type == MFV_KEY_EC_P384)
		gid = MBEDTLS_ECP_DP_SECP384R1;
	else
		return MFV_ERR_UNSUPPORTED_ALG;
	if (hash_len != 32 && hash_len != 48)
		return MFV_ERR_UNSUPPORTED_ALG;

	mbedtls_ecdsa_init(&ec);
	if ((r = mbedtls_ecp_group_load(&ec.grp, gid)) != 0) {
		/* A curve compiled out of this mbedTLS build. */
		rc = r == MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE ? MFV_ERR_UNSUPPORTED_ALG
		                                               : MFV_ERR_BACKEND;
		goto out;
	}
	/* The point must be on the curve: an invalid-curve point verifies
	 * nothing (mbedtls_ecdsa_verify checks it too; this makes the refusal
	 * independent of that detail). */
	if ((r = mbedtls_ecp_point_read_binary(&ec.grp, &ec.Q, key->a, key->a_len)) != 0 ||
	    (r = mbedtls_ecp_check_pubkey(&ec.grp, &ec.Q)) != 0) {
		rc = is_alloc_failure(r) ? MFV_ERR_BACKEND : MFV_ERR_BAD_SIGNATURE;
		goto out;
	}
	/* Parses the DER ECDSA-Sig-Value (refusing trailing bytes) and checks
	 * it; the core already insisted on minimal INTEGERs. */
	r = mbedtls_ecdsa_read_signature(&ec, hash, hash_len, sig, sig_len);
	rc = r == 0 ? 0 : is_alloc_failure(r) ? MFV_ERR_BACKEND : MFV_ERR_BAD_SIGNATURE;
out:
	mbedtls_ecdsa_free(&ec);
	return rc;
}

/* Import an RSA public key from the raw n and e and check that mbedTLS
 * accepts it; sig_len must be the modulus length (RFC 8017 8.2.2 step 1). */
static int
rsa_load(mbedtls_rsa_context *rsa, const struct mfv_pubkey *key, size_t sig_len)
{
	int r;

	if (key->type != MFV_KEY_RSA)
		return MFV_ERR_UNSUPPORTED_ALG;
	if ((r = mbedtls_rsa_import_raw(rsa, key->a, key->a_len, NULL, 0, NULL, 0, NULL, 0,
	                                key->b, key->b_len)) != 0 ||
	    (r = mbedtls_rsa_complete(rsa)) != 0 || (r = mbedtls_rsa_check_pubkey(rsa)) != 0)
		return is_alloc_failure(r) ? MFV_ERR_BACKEND : MFV_ERR_BAD_SIGNATURE;
	if (mbedtls_rsa_get_len(rsa) != sig_len)
		return MFV_ERR_BAD_SIGNATURE;
	return 0;
}

int
mfv_be_rsa_pkcs1_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                        const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	mbedtls_rsa_context rsa;
	mbedtls_md_type_t md = md_of(hash_alg);
	int r, rc;

	if (md == MBEDTLS_MD_NONE || hash_len != mfv_hash_len(hash_alg))
		return MFV_ERR_UNSUPPORTED_ALG;
	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, 0);
	if ((rc = rsa_load(&rsa, key, sig_len)) != 0)
		goto out;
	/* mbedTLS encodes the expected DigestInfo and compares the whole
	 * block, so no malleable parse of the padding happens here. */
	r = mbedtls_rsa_rsassa_pkcs1_v15_verify(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, md,
	                                        (unsigned int)hash_len, hash, sig);
	rc = r == 0 ? 0 : is_alloc_failure(r) ? MFV_ERR_BACKEND : MFV_ERR_BAD_SIGNATURE;
out:
	mbedtls_rsa_free(&rsa);
	return rc;
}

int
mfv_be_rsa_pss_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg, size_t salt_len,
                      const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	mbedtls_rsa_context rsa;
	mbedtls_md_type_t md = md_of(hash_alg);
	int r, rc;

	if (md == MBEDTLS_MD_NONE || hash_len != mfv_hash_len(hash_alg) || salt_len > 0x7fffffff)
		return MFV_ERR_UNSUPPORTED_ALG;
	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, md);
	if ((rc = rsa_load(&rsa, key, sig_len)) != 0)
		goto out;
	/* The _ext variant takes the MGF1 hash and insists on exactly this
	 * salt length, as the certificate's RSASSA-PSS-params demand. */
	r = mbedtls_rsa_rsassa_pss_verify_ext(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, md,
	                                      (unsigned int)hash_len, hash, md, (int)salt_len, sig);
	rc = r == 0 ? 0 : is_alloc_failure(r) ? MFV_ERR_BACKEND : MFV_ERR_BAD_SIGNATURE;
out:
	mbedtls_rsa_free(&rsa);
	return rc;
}

/* XXX mbedTLS 2.28 implements no EdDSA: refuse, never pretend. */
int
mfv_be_ed25519_verify(const struct mfv_pubkey *key, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len)
{
	(void)key;
	(void)msg;
	(void)msg_len;
	(void)sig;
	(void)sig_len;
	return MFV_ERR_UNSUPPORTED_ALG;
}
