/*
 * since.c - apply an answer of mayflyd's /trust/since/N.
 *
 * A device that slept through several root rotations asks for every
 * trust bundle after the version it holds and gets them in one answer:
 * the bundles' DER encodings concatenated, oldest first (mayfly-bundle(5),
 * "SEVERAL BUNDLES IN ONE FILE").  Each bundle is one self-delimiting
 * SEQUENCE, so the answer is split by reading the outer tag and length,
 * in place, with no copy and no allocation.
 *
 * The bundles are applied one by one, each checked against the state the
 * one before it left (mfvi_bundle_step() in bundle.c), so every step is
 * vouched for by a threshold of the roots the device trusted at that step.
 * The first bundle that fails stops the walk and the device keeps the
 * state of the last good one: that is progress an attacker could not
 * have forged, and it is what a truncated answer would have given anyway.
 * The answer comes over plain HTTP, so its framing is untrusted too: a
 * piece that is not one well-formed SEQUENCE is refused as malformed.
 *
 * This lives apart from bundle.c so that firmware that never fetches
 * bundles does not carry it.
 */
#include "mfv_int.h"

int
mfv_bundle_apply_since(struct mfv_ctx *ctx, const uint8_t *der, size_t len, size_t *applied,
                       struct mfv_buf *last)
{
	struct mfvi_der r = { der, len }, v, tlv;
	unsigned n = 0, seen = 0;
	int rc;

	if (applied != NULL)
		*applied = 0;
	if (last != NULL) {
		last->p = NULL;
		last->len = 0;
	}
	if (ctx == NULL || (der == NULL && len > 0))
		return MFV_ERR_INVALID_ARG;
	while (r.len > 0) {
		/* Bounded work per call: a device further behind calls again
		 * with the version it reached. */
		if (++seen > MFV_MAX_BUNDLES)
			return MFV_ERR_TOO_MANY;
		if (mfvi_der_get_tlv(&r, MFVI_SEQUENCE, &v, &tlv) != 0)
			return MFV_ERR_BUNDLE_MALFORMED;
		/* The expiry applies to the newest bundle of the answer. */
		rc = mfvi_bundle_step(ctx, tlv.p, tlv.len, r.len == 0);
		/* An answer to a lower N than the device's version starts with
		 * versions it holds already: skip those, but only at the start
		 * (later, an old version means the answer is out of order). */
		if (rc == MFV_ERR_BUNDLE_VERSION && n == 0)
			continue;
		if (rc != 0)
			return rc;
		n++;
		if (applied != NULL)
			*applied = n;
		if (last != NULL) {
			last->p = tlv.p;
			last->len = tlv.len;
		}
	}
	return 0;
}
