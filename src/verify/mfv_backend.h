/*
 * mfv_backend.h - the crypto backend interface of libmayfly-verify.
 *
 * The verifier core parses and decides; it never computes a hash or checks
 * a signature itself.  It calls the functions below, which a backend
 * provides at link time (one file per backend: backend_openssl.c for
 * hosts, an mbedTLS or hardware backend for devices).  They are plain
 * functions rather than a table of pointers so that a firmware image links
 * only what it calls and the linker can drop the rest.
 *
 * Contract for every backend function:
 *  - Inputs are borrowed for the duration of the call; nothing is kept.
 *  - The core has already checked the encodings strictly: key sizes and
 *    curve points have the lengths stated below, RSA moduli are 2048..4096
 *    bits, ECDSA signatures are DER ECDSA-Sig-Value with minimal positive
 *    INTEGERs.  A backend may still refuse anything it dislikes.
 *  - Return 0 only when the signature is valid.  Return
 *    MFV_ERR_BAD_SIGNATURE when it is not, MFV_ERR_UNSUPPORTED_ALG when the
 *    backend cannot do this algorithm, MFV_ERR_BACKEND on internal failure
 *    (out of memory in the backend, hardware error).  Never any other value.
 *  - No state between calls, no printing, thread-safe if the underlying
 *    library is.  A backend that allocates (OpenSSL does) must free before
 *    returning, on every path.
 */
#ifndef MFV_BACKEND_H
#define MFV_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "mayfly_verify.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mfv_hash_alg {
	MFV_HASH_SHA1 = 1,   /* only for OCSP CertID and responder key ids */
	MFV_HASH_SHA256 = 2,
	MFV_HASH_SHA384 = 3
};

#define MFV_HASH_MAX_LEN 48

/* Digest length of alg, 0 if unknown. */
size_t mfv_hash_len(enum mfv_hash_alg alg);

enum mfv_key_type {
	MFV_KEY_NONE = 0,
	MFV_KEY_RSA = 1,      /* a = modulus n (big-endian, no leading zero), b = exponent e */
	MFV_KEY_EC_P256 = 2,  /* a = uncompressed point 0x04||X||Y, 65 octets */
	MFV_KEY_EC_P384 = 3,  /* a = uncompressed point, 97 octets */
	MFV_KEY_ED25519 = 4   /* a = the 32-octet public key */
};

/* A public key as found in a certificate.  spki is the whole DER
 * SubjectPublicKeyInfo, for backends that import keys in that form
 * (OpenSSL d2i_PUBKEY, mbedtls_pk_parse_public_key); a and b are the raw
 * components, for backends that take them directly. */
struct mfv_pubkey {
	enum mfv_key_type type;
	const uint8_t *spki;
	size_t spki_len;
	const uint8_t *a;
	size_t a_len;
	const uint8_t *b;
	size_t b_len;
};

/* One-shot digest of data[0..len) into out (mfv_hash_len(alg) octets).
 * Returns 0, MFV_ERR_UNSUPPORTED_ALG or MFV_ERR_BACKEND. */
int mfv_be_hash(enum mfv_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out);

/* ECDSA over a digest already computed by the core.  key->type is
 * MFV_KEY_EC_P256 or MFV_KEY_EC_P384; sig is DER ECDSA-Sig-Value. */
int mfv_be_ecdsa_verify(const struct mfv_pubkey *key, const uint8_t *hash, size_t hash_len,
                        const uint8_t *sig, size_t sig_len);

/* RSASSA-PKCS1-v1_5 over a digest (the backend builds the DigestInfo for
 * hash_alg).  sig_len equals the modulus length. */
int mfv_be_rsa_pkcs1_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                            const uint8_t *hash, size_t hash_len,
                            const uint8_t *sig, size_t sig_len);

/* RSASSA-PSS over a digest, MGF1 with hash_alg, the given salt length,
 * trailer field 0xBC. */
int mfv_be_rsa_pss_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                          size_t salt_len, const uint8_t *hash, size_t hash_len,
                          const uint8_t *sig, size_t sig_len);

/* Ed25519 (RFC 8032, pure) over the whole message; sig is 64 octets. */
int mfv_be_ed25519_verify(const struct mfv_pubkey *key, const uint8_t *msg, size_t msg_len,
                          const uint8_t *sig, size_t sig_len);

#ifdef __cplusplus
}
#endif
#endif /* MFV_BACKEND_H */
