/*
 * verify_bundle.c - libFuzzer target: trust bundles.
 *
 * Input: one or more bundles, each prefixed by a two-octet big-endian
 * length, applied in order to a context pinning a fixed hash; then the
 * first is also loaded as stored state.  The fake backend lets the
 * fuzzer decide which signatures verify; a signer is "pinned" when the
 * fake hash of its certificate equals the pin, which the fuzzer cannot
 * reach often, so the second pass pins whatever the first signer hashes
 * to.
 */
#include <string.h>
#include "mfv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mfv_ctx ctx;
	struct mfv_buf b[4];
	size_t n = 0, len, applied;
	uint8_t pin[MFV_HASH_LEN] = { 0 };

	while (size >= 2 && n < 4) {
		len = (size_t)data[0] << 8 | data[1];
		if (len > size - 2)
			break;
		b[n].p = data + 2;
		b[n++].len = len;
		data += 2 + len;
		size -= 2 + len;
	}
	if (n == 0)
		return 0;
	mfv_init(&ctx);
	mfv_set_time(&ctx, 1795000000);
	(void)mfv_add_root(&ctx, pin);
	(void)mfv_bundle_apply(&ctx, b, n, &applied);
	mfv_init(&ctx);
	if (mfv_bundle_load(&ctx, b[0].p, b[0].len) == 0)
		(void)mfv_bundle_apply(&ctx, b + 1, n - 1, &applied);
	return 0;
}
