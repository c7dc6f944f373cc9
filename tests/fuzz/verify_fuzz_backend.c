/*
 * verify_fuzz_backend.c - a permissive fake crypto backend for the
 * libmayfly-verify fuzz targets.
 *
 * Real signatures would stop the fuzzer at the first signature check, so
 * that path building, the policy checks and OCSP status handling would
 * never be reached with mutated input.  Here a signature "verifies" when
 * its first octet is even, and the hash is a cheap deterministic mix, so
 * the fuzzer controls both outcomes.  Never link this into anything else.
 */
#include <string.h>
#include "mfv_backend.h"

int
mfv_be_hash(enum mfv_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
	size_t n = mfv_hash_len(alg), i, j;
	uint32_t h;

	if (n == 0)
		return MFV_ERR_UNSUPPORTED_ALG;
	for (i = 0; i < n; i++) {
		h = 2166136261u ^ (uint32_t)i;
		for (j = 0; j < len; j++)
			h = (h ^ data[j]) * 16777619u;
		out[i] = (uint8_t)(h >> 24);
	}
	return 0;
}

static int
verdict(const uint8_t *sig, size_t sig_len)
{
	return sig_len > 0 && (sig[0] & 1) == 0 ? 0 : MFV_ERR_BAD_SIGNATURE;
}

int
mfv_be_ecdsa_verify(const struct mfv_pubkey *key, const uint8_t *hash, size_t hash_len,
                    const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash; (void)hash_len;
	return verdict(sig + (sig_len > 4 ? 4 : 0), sig_len > 4 ? sig_len - 4 : 0);
}

int
mfv_be_rsa_pkcs1_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                        const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash_alg; (void)hash; (void)hash_len;
	return verdict(sig, sig_len);
}

int
mfv_be_rsa_pss_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg, size_t salt_len,
                      const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash_alg; (void)salt_len; (void)hash; (void)hash_len;
	return verdict(sig, sig_len);
}

int
mfv_be_ed25519_verify(const struct mfv_pubkey *key, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)msg; (void)msg_len;
	return verdict(sig, sig_len);
}
