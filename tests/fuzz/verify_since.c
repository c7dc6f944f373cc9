/*
 * verify_since.c - libFuzzer target: answers of /trust/since/N, as split
 * and applied by mfv_bundle_apply_since().
 *
 * The input is the answer itself (bundles' DER concatenated), untrusted
 * framing included.  It is applied twice: to a context pinning a fixed
 * hash (threshold 1), and to one whose state is the input's first bundle
 * (loaded as a device loads its stored one), so that the walk gets past
 * the first step whenever the fake backend lets signatures verify.  The
 * target also checks what the header promises: *applied within
 * MFV_MAX_BUNDLES, *last inside the input (or {NULL, 0} when nothing was
 * applied), the version reached never below the starting one.
 */
#include <stdlib.h>
#include <string.h>
#include "mfv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(struct mfv_ctx *ctx, const uint8_t *data, size_t size)
{
	uint32_t before = mfv_bundle_version(ctx);
	struct mfv_buf last;
	size_t applied = 99;
	int rc;

	rc = mfv_bundle_apply_since(ctx, data, size, &applied, &last);
	if (applied > MFV_MAX_BUNDLES)
		abort();
	if (applied == 0 && (last.p != NULL || last.len != 0))
		abort();
	if (applied > 0 && (last.p < data || last.len == 0 || last.len > size ||
	                    (size_t)(last.p - data) > size - last.len))
		abort();
	if (mfv_bundle_version(ctx) < before || (applied > 0 && mfv_bundle_version(ctx) == before))
		abort();
	/* The last bundle applied is what a device stores and loads at its
	 * next boot: it must load, to the same version. */
	if (applied > 0) {
		static struct mfv_ctx again;

		mfv_init(&again);
		if (mfv_bundle_load(&again, last.p, last.len) != 0 ||
		    mfv_bundle_version(&again) != mfv_bundle_version(ctx))
			abort();
	}
	(void)rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mfv_ctx ctx;
	uint8_t pin[MFV_HASH_LEN] = { 0 };
	struct mfvi_der r = { data, size }, v, tlv;

	mfv_init(&ctx);
	mfv_set_time(&ctx, 1795000000);
	(void)mfv_add_root(&ctx, pin);
	walk(&ctx, data, size);

	/* The first bundle as stored state, the rest as the answer. */
	if (mfvi_der_get_tlv(&r, MFVI_SEQUENCE, &v, &tlv) != 0)
		return 0;
	mfv_init(&ctx);
	mfv_set_time(&ctx, 1795000000);
	if (mfv_bundle_load(&ctx, tlv.p, tlv.len) == 0)
		walk(&ctx, r.p, r.len);
	return 0;
}
