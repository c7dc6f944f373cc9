/*
 * backend_openssl.c - the OpenSSL 3 crypto backend of libmayfly-verify.
 *
 * Implements mfv_backend.h for hosts (the mayfly-verify CLI, tests, the
 * handshake adapters).  Keys are imported from the SubjectPublicKeyInfo
 * the core found in the certificate; every call builds and frees its own
 * objects, so the backend has no state and is as thread-safe as OpenSSL.
 * Failures clear OpenSSL's error queue: the caller gets one code and must
 * not trip over a stale error on its next OpenSSL call.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "mfv_backend.h"

static const EVP_MD *
md_of(enum mfv_hash_alg alg)
{
	switch (alg) {
	case MFV_HASH_SHA1: return EVP_sha1();
	case MFV_HASH_SHA256: return EVP_sha256();
	case MFV_HASH_SHA384: return EVP_sha384();
	}
	return NULL;
}

int
mfv_be_hash(enum mfv_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
	const EVP_MD *md = md_of(alg);
	unsigned int olen = 0;

	if (md == NULL)
		return MFV_ERR_UNSUPPORTED_ALG;
	if (EVP_Digest(data, len, out, &olen, md, NULL) != 1) {
		ERR_clear_error();
		return MFV_ERR_BACKEND;
	}
	return 0;
}

/* Import the key and check that OpenSSL sees the type the core saw. */
static EVP_PKEY *
load(const struct mfv_pubkey *k)
{
	const unsigned char *p = k->spki;
	EVP_PKEY *pkey;
	int want;

	if (k->spki == NULL || k->spki_len > 0x7fffffff)
		return NULL;
	pkey = d2i_PUBKEY(NULL, &p, (long)k->spki_len);
	if (pkey == NULL)
		return NULL;
	switch (k->type) {
	case MFV_KEY_RSA: want = EVP_PKEY_RSA; break;
	case MFV_KEY_EC_P256:
	case MFV_KEY_EC_P384: want = EVP_PKEY_EC; break;
	case MFV_KEY_ED25519: want = EVP_PKEY_ED25519; break;
	default: want = -1; break;
	}
	if (p != k->spki + k->spki_len || EVP_PKEY_get_base_id(pkey) != want) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/* Verify a signature over a precomputed digest.  pad is 0 (not RSA),
 * RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING. */
static int
verify_digest(const struct mfv_pubkey *k, enum mfv_hash_alg alg, int pad, size_t salt,
              const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	const EVP_MD *md = md_of(alg);
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = MFV_ERR_BACKEND, r;

	if (md == NULL || hash_len != (size_t)EVP_MD_get_size(md))
		return MFV_ERR_UNSUPPORTED_ALG;
	if ((pkey = load(k)) == NULL) {
		rc = MFV_ERR_BAD_SIGNATURE; /* a key OpenSSL refuses verifies nothing */
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL || EVP_PKEY_verify_init(pctx) != 1)
		goto out;
	if (pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, pad) != 1)
		goto out;
	if (EVP_PKEY_CTX_set_signature_md(pctx, md) != 1)
		goto out;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    (salt > 0x7fffffff || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)salt) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))
		goto out;
	r = EVP_PKEY_verify(pctx, sig, sig_len, hash, hash_len);
	/* 0 is a wrong signature; a negative value is a malformed one, which
	 * is just as wrong. */
	rc = r == 1 ? 0 : MFV_ERR_BAD_SIGNATURE;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	return rc;
}

int
mfv_be_ecdsa_verify(const struct mfv_pubkey *key, const uint8_t *hash, size_t hash_len,
                    const uint8_t *sig, size_t sig_len)
{
	enum mfv_hash_alg alg = hash_len == 32 ? MFV_HASH_SHA256 : MFV_HASH_SHA384;

	if (key->type != MFV_KEY_EC_P256 && key->type != MFV_KEY_EC_P384)
		return MFV_ERR_UNSUPPORTED_ALG;
	return verify_digest(key, alg, 0, 0, hash, hash_len, sig, sig_len);
}

int
mfv_be_rsa_pkcs1_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                        const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	if (key->type != MFV_KEY_RSA)
		return MFV_ERR_UNSUPPORTED_ALG;
	return verify_digest(key, hash_alg, RSA_PKCS1_PADDING, 0, hash, hash_len, sig, sig_len);
}

int
mfv_be_rsa_pss_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg, size_t salt_len,
                      const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	if (key->type != MFV_KEY_RSA)
		return MFV_ERR_UNSUPPORTED_ALG;
	return verify_digest(key, hash_alg, RSA_PKCS1_PSS_PADDING, salt_len, hash, hash_len,
	                     sig, sig_len);
}

int
mfv_be_ed25519_verify(const struct mfv_pubkey *key, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	int rc = MFV_ERR_BACKEND;

	if (key->type != MFV_KEY_ED25519)
		return MFV_ERR_UNSUPPORTED_ALG;
	if ((pkey = load(key)) == NULL) {
		rc = MFV_ERR_BAD_SIGNATURE;
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) != 1)
		goto out;
	rc = EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1 ? 0 : MFV_ERR_BAD_SIGNATURE;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	return rc;
}
