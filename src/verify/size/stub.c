/*
 * stub.c - a bare Cortex-M image around the verifier core, for `make size`.
 *
 * It provides what a firmware image would: an entry point, the four mem*
 * functions (the only libc the core may use; the image links with
 * -nostdlib so any other libc call fails to link) and a backend whose
 * functions do nothing, so that the numbers measure the core alone.
 * MFV_SIZE_VARIANT selects what the entry point calls: 0 nothing (the
 * baseline that is subtracted), 1 chain verification, 2 everything
 * (OCSP, error strings, trust bundles), 3 trust bundles alone (what a
 * device needs to follow root rotations: load its stored bundle, apply
 * a /trust/since/N answer).
 */
#include <stddef.h>
#include <stdint.h>
#include "mfv_backend.h"

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void mfv_size_entry(void);


void *
memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *
memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *
memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;

	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *ap = a, *bp = b;

	for (; n--; ap++, bp++)
		if (*ap != *bp)
			return *ap - *bp;
	return 0;
}

int
mfv_be_hash(enum mfv_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
	(void)alg; (void)data; (void)len; (void)out;
	return 0;
}

int
mfv_be_ecdsa_verify(const struct mfv_pubkey *key, const uint8_t *hash, size_t hash_len,
                    const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash; (void)hash_len; (void)sig; (void)sig_len;
	return 0;
}

int
mfv_be_rsa_pkcs1_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg,
                        const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash_alg; (void)hash; (void)hash_len; (void)sig; (void)sig_len;
	return 0;
}

int
mfv_be_rsa_pss_verify(const struct mfv_pubkey *key, enum mfv_hash_alg hash_alg, size_t salt_len,
                      const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)hash_alg; (void)salt_len; (void)hash; (void)hash_len; (void)sig; (void)sig_len;
	return 0;
}

int
mfv_be_ed25519_verify(const struct mfv_pubkey *key, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len)
{
	(void)key; (void)msg; (void)msg_len; (void)sig; (void)sig_len;
	return 0;
}

/* The caller's buffers live where firmware would put them: here at a
 * fixed address so they count in no section of the image. */
#define RAM ((uint8_t *)0x20000000u)

void
mfv_size_entry(void)
{
	struct mfv_ctx *ctx = (struct mfv_ctx *)(void *)RAM;
	struct mfv_buf *certs = (struct mfv_buf *)(void *)(RAM + 0x1000);
	struct mfv_result *res = (struct mfv_result *)(void *)(RAM + 0x1100);
	volatile int rc = 0;

#if MFV_SIZE_VARIANT == 1 || MFV_SIZE_VARIANT == 2
	mfv_init(ctx);
	rc = mfv_add_root(ctx, RAM + 0x1200);
	mfv_set_time(ctx, 1700000000);
	mfv_set_lkgt(ctx, 1600000000);
	mfv_set_skew(ctx, 300);
	mfv_set_max_lifetime(ctx, 86400);
	rc = mfv_set_host(ctx, (const char *)RAM + 0x1300, 16);
#endif
#if MFV_SIZE_VARIANT == 1
	rc = mfv_verify_chain(ctx, certs, 3, res);
#elif MFV_SIZE_VARIANT == 2
	rc = mfv_set_ip(ctx, RAM + 0x1400, 4);
	mfv_set_flags(ctx, MFV_FLAG_CLIENT_AUTH);
	rc = mfv_verify(ctx, certs, 3, (const struct mfv_buf *)(void *)(RAM + 0x1500), res);
	rc = (int)(uintptr_t)mfv_errname(rc) + (int)(uintptr_t)mfv_strerror(rc);
	rc = mfv_bundle_load(ctx, RAM + 0x2000, 100);
	rc = mfv_bundle_apply(ctx, certs, 2, NULL);
	rc = mfv_bundle_apply_since(ctx, RAM + 0x3000, 4000, NULL, certs);
	rc = (int)mfv_bundle_version(ctx) + (int)mfv_lkgt(ctx);
#elif MFV_SIZE_VARIANT == 3
	(void)res;
	mfv_init(ctx);
	mfv_set_time(ctx, 1700000000);
	rc = mfv_bundle_load(ctx, RAM + 0x2000, 100);
	rc = mfv_bundle_apply_since(ctx, RAM + 0x3000, 4000, NULL, certs);
	rc = (int)mfv_bundle_version(ctx) + (int)mfv_lkgt(ctx);
#else
	(void)ctx; (void)certs; (void)res;
#endif
	(void)rc;
	for (;;)
		;
}
