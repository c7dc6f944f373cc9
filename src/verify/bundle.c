/*
 * bundle.c - trust bundles: how root changes reach devices.
 *
 * A device pins a few roots.  To rotate them, the operator publishes
 * version N+1 of a trust bundle listing the new pins, signed by the keys
 * of roots trusted in version N, enough of them to meet the threshold
 * that version N set.  Versions only go up, so an old bundle cannot be
 * replayed to bring back a retired (perhaps compromised) root, and a
 * device that slept through several rotations walks them in order, each
 * step vouched for by the roots it trusted at that step.  The format is
 * DER and is specified in mayfly-bundle(5).
 *
 * Applying is all-or-nothing: the context changes only when every check
 * has passed, so a refused bundle leaves the device as it was.
 */
#include <string.h>
#include "mfv_int.h"

/* The parts of a bundle, pointing into the caller's buffer. */
struct bundle {
	struct mfvi_der tbs;     /* TBSTrustBundle TLV: what is signed */
	struct mfvi_der roots;   /* SEQUENCE OF OCTET STRING contents */
	struct mfvi_der sigs;    /* SEQUENCE OF BundleSignature contents */
	uint32_t version;
	uint32_t threshold;
	int64_t issued_at;
	int64_t not_after;       /* 0 if absent */
};

static int
parse(const uint8_t *der, size_t len, struct bundle *b)
{
	static const uint8_t body[] = { MFVI_SEQUENCE, MFVI_SEQUENCE, 0 };
	static const uint8_t head[] = { MFVI_INTEGER, MFVI_INTEGER, MFVI_GENTIME };
	struct mfvi_der r = { der, len }, v[3], t[3], x, h;
	uint32_t format;
	int rc, n = 0;

	if ((rc = mfvi_der_sole(&r, MFVI_SEQUENCE)) != 0 || (rc = mfvi_der_seq(&r, body, 3, v, t)) != 0)
		return rc;
	b->tbs = t[0];
	b->sigs = v[1];
	r = v[0];
	if ((rc = mfvi_der_seq(&r, head, 3, v, NULL)) != 0 ||
	    (rc = mfvi_der_small_uint(&v[0], &format)) != 0 ||
	    (rc = mfvi_der_small_uint(&v[1], &b->version)) != 0 ||
	    (rc = mfvi_der_time(MFVI_GENTIME, &v[2], &b->issued_at)) != 0)
		return rc;
	if (format != 1 || b->version == 0)
		return MFV_ERR_BUNDLE_MALFORMED;
	b->not_after = 0;
	if ((rc = mfvi_der_opt(&r, MFVI_CTX(0), &x)) < 0)
		return rc;
	if (rc == 1 && (rc = mfvi_der_time(MFVI_GENTIME, &x, &b->not_after)) != 0)
		return rc;
	if ((rc = mfvi_der_get(&r, MFVI_INTEGER, &x)) != 0 ||
	    (rc = mfvi_der_small_uint(&x, &b->threshold)) != 0 ||
	    (rc = mfvi_der_get(&r, MFVI_SEQUENCE, &b->roots)) != 0 ||
	    (rc = mfvi_der_end(&r)) != 0)
		return rc;
	/* Every pin is 32 octets; between 1 and MFV_MAX_ROOTS of them, and
	 * a threshold that the listed roots can meet. */
	r = b->roots;
	while (r.len > 0) {
		if ((rc = mfvi_der_get(&r, MFVI_OCTET_STRING, &h)) != 0)
			return rc;
		if (h.len != MFV_HASH_LEN || ++n > MFV_MAX_ROOTS)
			return MFV_ERR_BUNDLE_MALFORMED;
	}
	if (n == 0 || b->threshold < 1 || b->threshold > (uint32_t)n || b->sigs.len == 0)
		return MFV_ERR_BUNDLE_MALFORMED;
	return 0;
}

static int
malformed(int rc)
{
	return rc == MFV_ERR_BACKEND ? rc : MFV_ERR_BUNDLE_MALFORMED;
}

/* Which current pin a signer certificate matches: index + 1, or 0. */
static unsigned
pinned(const struct mfv_ctx *ctx, const struct mfv_cert *c, int *err)
{
	uint8_t h[MFV_HASH_LEN];
	unsigned k, which, found = 0;

	for (which = 0; which < 2; which++) {
		if ((*err = mfv_be_hash(MFV_HASH_SHA256, which ? c->spki.p : c->der.p,
		                        which ? c->spki.len : c->der.len, h)) != 0)
			return 0;
		for (k = 0; k < ctx->n_roots; k++)
			if (mfvi_ct_eq(h, ctx->roots[k], MFV_HASH_LEN))
				found = k + 1;
	}
	return found;
}

/* Check one bundle against the current trust state; on success *b holds
 * it.  last: this is the newest bundle the caller has, so its expiry
 * applies. */
static int
check(const struct mfv_ctx *ctx, const uint8_t *der, size_t len, int last, struct bundle *b)
{
	static const uint8_t sigshape[] = { MFVI_SEQUENCE, MFVI_SEQUENCE, MFVI_BIT_STRING, 0 };
	struct mfvi_der r, v[3], t[3], bits;
	struct mfv_cert signer;
	uint32_t signers = 0, count = 0, need;
	unsigned k;
	uint16_t salt;
	uint8_t alg;
	int rc, err;

	if (der == NULL)
		return MFV_ERR_INVALID_ARG;
	if ((rc = parse(der, len, b)) != 0)
		return malformed(rc);
	if (b->version <= ctx->bundle_version)
		return MFV_ERR_BUNDLE_VERSION;
	if (last && b->not_after != 0 &&
	    mfvi_time_window(ctx, b->issued_at, b->not_after, 0, MFV_ERR_BUNDLE_EXPIRED) != 0)
		return MFV_ERR_BUNDLE_EXPIRED;
	r = b->sigs;
	while (r.len > 0) {
		if ((rc = mfvi_der_get(&r, MFVI_SEQUENCE, &v[0])) != 0 ||
		    (rc = mfvi_der_seq(&v[0], sigshape, 4, v, t)) != 0 ||
		    (rc = mfvi_der_bits_octets(&v[2], &bits)) != 0 ||
		    (rc = mfvi_sig_alg(&v[1], &alg, &salt)) != 0)
			return rc == MFV_ERR_UNSUPPORTED_ALG ? rc : malformed(rc);
		if ((rc = mfvi_cert_parse(&signer, t[0].p, t[0].len)) != 0)
			return malformed(rc);
		/* Signatures by keys we do not trust (yet) are ignored: a
		 * bundle may also be signed by the roots it introduces. */
		if ((k = pinned(ctx, &signer, &err)) == 0) {
			if (err != 0)
				return err;
			continue;
		}
		if ((rc = mfvi_sig_check(&signer, alg, salt, b->tbs.p, b->tbs.len, bits.p, bits.len)) != 0)
			return rc == MFV_ERR_BACKEND || rc == MFV_ERR_UNSUPPORTED_ALG ? rc
			       : MFV_ERR_BAD_SIGNATURE;
		/* Each trusted root counts once, however often it signed. */
		if (!(signers & (1u << (k - 1)))) {
			signers |= 1u << (k - 1);
			count++;
		}
	}
	need = ctx->bundle_threshold ? ctx->bundle_threshold : 1;
	if (count == 0)
		return MFV_ERR_BUNDLE_SIGNER;
	if (count < need)
		return MFV_ERR_BUNDLE_THRESHOLD;
	return 0;
}

/* Make b the current trust state. */
static void
install(struct mfv_ctx *ctx, const struct bundle *b)
{
	struct mfvi_der r = b->roots, h;

	ctx->n_roots = 0;
	while (r.len > 0 && mfvi_der_get(&r, MFVI_OCTET_STRING, &h) == 0)
		memcpy(ctx->roots[ctx->n_roots++], h.p, MFV_HASH_LEN);
	ctx->bundle_version = b->version;
	ctx->bundle_threshold = (uint8_t)b->threshold;
	/* The issue time is signed by roots the device trusted: a floor for
	 * the clock like any other verified time. */
	if (b->issued_at > ctx->lkgt)
		ctx->lkgt = b->issued_at;
}

int
mfv_bundle_load(struct mfv_ctx *ctx, const uint8_t *der, size_t len)
{
	struct bundle b;
	int rc;

	if (ctx == NULL || der == NULL)
		return MFV_ERR_INVALID_ARG;
	if ((rc = parse(der, len, &b)) != 0)
		return malformed(rc);
	install(ctx, &b);
	return 0;
}

int
mfvi_bundle_step(struct mfv_ctx *ctx, const uint8_t *der, size_t len, int last)
{
	struct bundle b;
	int rc;

	if ((rc = check(ctx, der, len, last, &b)) == 0)
		install(ctx, &b);
	return rc;
}

int
mfv_bundle_apply(struct mfv_ctx *ctx, const struct mfv_buf *bundles, size_t n, size_t *applied)
{
	size_t i;
	int rc = 0;

	if (applied != NULL)
		*applied = 0;
	if (ctx == NULL || (bundles == NULL && n > 0))
		return MFV_ERR_INVALID_ARG;
	for (i = 0; i < n; i++) {
		if ((rc = mfvi_bundle_step(ctx, bundles[i].p, bundles[i].len, i + 1 == n)) != 0)
			break;
		if (applied != NULL)
			*applied = i + 1;
	}
	return rc;
}

uint32_t
mfv_bundle_version(const struct mfv_ctx *ctx)
{
	return ctx->bundle_version;
}

int64_t
mfv_lkgt(const struct mfv_ctx *ctx)
{
	return ctx->lkgt;
}
