/*
 * chain.c - the context setters and chain verification of libmayfly-verify.
 *
 * Verification runs in three steps.  First every certificate handed in is
 * parsed strictly (a malformed extra certificate is refused too: a server
 * that sends garbage is not one to trust).  Then the leaf policy is
 * applied: lifetime cap, validity, not a CA, key and extended key usage,
 * the name.  Then a path is built from the leaf to a pinned certificate by
 * a bounded depth-first search over the other certificates, so that a
 * server sending the intermediate both as issued by root A and as
 * cross-signed by backup root B works whichever pin the device holds.
 * Each issuer is checked before its signature is (CA bit, keyCertSign,
 * pathLen, purpose, validity), and the number of signature checks is
 * capped by MFV_MAX_SIG_CHECKS so that a hostile list of look-alike
 * issuers cannot make a device spend minutes in RSA.
 */
#include <string.h>
#include "mfv_int.h"

void
mfv_init(struct mfv_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

int
mfv_add_root(struct mfv_ctx *ctx, const uint8_t hash[MFV_HASH_LEN])
{
	if (ctx == NULL || hash == NULL)
		return MFV_ERR_INVALID_ARG;
	if (ctx->n_roots >= MFV_MAX_ROOTS)
		return MFV_ERR_TOO_MANY;
	memcpy(ctx->roots[ctx->n_roots++], hash, MFV_HASH_LEN);
	return 0;
}

/* Times are kept within what a certificate can say (years 0001 to 9999),
 * so that adding a skew can never overflow. */
#define MFVI_TIME_MAX INT64_C(253402300799)

static int64_t
clamp(int64_t t)
{
	return t < 0 ? 0 : t > MFVI_TIME_MAX ? MFVI_TIME_MAX : t;
}

void
mfv_set_time(struct mfv_ctx *ctx, int64_t now)
{
	ctx->now = clamp(now);
	ctx->state |= MFVI_HAVE_TIME;
}

void
mfv_set_lkgt(struct mfv_ctx *ctx, int64_t lkgt)
{
	ctx->lkgt = clamp(lkgt);
}

void
mfv_set_skew(struct mfv_ctx *ctx, uint32_t seconds)
{
	ctx->skew = seconds;
}

void
mfv_set_max_lifetime(struct mfv_ctx *ctx, uint32_t seconds)
{
	ctx->max_lifetime = seconds;
}

void
mfv_set_flags(struct mfv_ctx *ctx, uint32_t flags)
{
	ctx->flags = flags;
}

int
mfv_set_host(struct mfv_ctx *ctx, const char *name, size_t len)
{
	size_t i, label = 0;
	unsigned ch;

	if (ctx == NULL || name == NULL)
		return MFV_ERR_INVALID_ARG;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MFV_MAX_HOST)
		return MFV_ERR_INVALID_ARG;
	/* Letters, digits, hyphen, underscore; no empty label (the end
	 * closes the last one like a dot). */
	for (i = 0; i <= len; i++) {
		ch = i < len ? (unsigned char)name[i] : '.';
		if (ch == '.') {
			if (label == 0)
				return MFV_ERR_INVALID_ARG;
			label = 0;
			continue;
		}
		/* OR-ing 0x20 folds the capitals and keeps '_' apart. */
		if (!(((ch | 0x20u) >= 'a' && (ch | 0x20u) <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_') ||
		    ++label > 63)
			return MFV_ERR_INVALID_ARG;
	}
	ctx->host = name;
	ctx->host_len = (uint8_t)len;
	ctx->ip_len = 0;
	return 0;
}

int
mfv_set_ip(struct mfv_ctx *ctx, const uint8_t *ip, size_t len)
{
	if (ctx == NULL || ip == NULL || (len != 4 && len != 16))
		return MFV_ERR_INVALID_ARG;
	memcpy(ctx->ip, ip, len);
	ctx->ip_len = (uint8_t)len;
	ctx->host = NULL;
	ctx->host_len = 0;
	return 0;
}

int
mfvi_time_window(const struct mfv_ctx *ctx, int64_t lo, int64_t hi, int early, int late)
{
	int64_t now;

	if ((ctx->state & MFVI_HAVE_TIME) == 0) {
		/* No clock: the LKGT is only a lower bound on now, so only
		 * "definitely over" can be decided, and without skew since
		 * the LKGT came from signed data. */
		return hi < ctx->lkgt ? late : 0;
	}
	/* A clock behind the LKGT is wrong; trust the larger. */
	now = ctx->now > ctx->lkgt ? ctx->now : ctx->lkgt;
	if (now + (int64_t)ctx->skew < lo)
		return early;
	if (now - (int64_t)ctx->skew > hi)
		return late;
	return 0;
}

static int
cert_time(const struct mfv_ctx *ctx, const struct mfv_cert *c)
{
	return mfvi_time_window(ctx, c->not_before, c->not_after,
	                        MFV_ERR_NOT_YET_VALID, MFV_ERR_EXPIRED);
}

static uint8_t
purpose(const struct mfv_ctx *ctx)
{
	return (ctx->flags & MFV_FLAG_CLIENT_AUTH) ? MFVI_EKU_CLIENT : MFVI_EKU_SERVER;
}

static int
leaf_policy(const struct mfv_ctx *ctx, const struct mfv_cert *c, struct mfv_result *res)
{
	int rc;

	/* The cap first: it holds with or without a clock. */
	if (ctx->max_lifetime != 0 && c->not_after - c->not_before > (int64_t)ctx->max_lifetime)
		return MFV_ERR_LIFETIME_TOO_LONG;
	if ((rc = cert_time(ctx, c)) != 0)
		return rc;
	if (c->flags & MFVI_C_CA)
		return MFV_ERR_LEAF_IS_CA;
	if ((c->flags & MFVI_C_HAS_KU) &&
	    !(c->ku & MFVI_KU_DIGITAL_SIGNATURE) &&
	    !(c->key_type == MFV_KEY_RSA && (c->ku & MFVI_KU_KEY_ENCIPHERMENT)))
		return MFV_ERR_KEY_USAGE;
	/* The leaf must state its purpose explicitly; anyExtendedKeyUsage
	 * or no EKU at all is not enough for a device. */
	if (!(c->eku & purpose(ctx))) /* bits are set only if EKU is present */
		return MFV_ERR_EKU;
	if (ctx->host_len == 0 && ctx->ip_len == 0)
		res->flags |= MFV_RES_NAME_UNCHECKED;
	else if ((rc = mfvi_name_match(c, ctx->host, ctx->host_len, ctx->ip, ctx->ip_len, 0)) != 0)
		return rc;
	/* BR 7.1.4.3: a server certificate's commonName, if any, is one of
	 * its dNSNames, byte for byte (so never an IP address: mayfly puts
	 * none there). */
	if (c->cn.p != NULL && !(ctx->flags & MFV_FLAG_CLIENT_AUTH) &&
	    mfvi_name_match(c, (const char *)c->cn.p, c->cn.len, NULL, 0, 1) != 0)
		return MFV_ERR_PROFILE;
	return 0;
}

/* Can `ca` issue at path depth `d` (d >= 1), given the path below it? */
static int
issuer_policy(const struct mfv_ctx *ctx, const struct mfv_cert *ca, unsigned d)
{
	unsigned i, below = 0;

	if (!(ca->flags & MFVI_C_CA))
		return MFV_ERR_NOT_CA;
	if ((ca->flags & MFVI_C_HAS_KU) && !(ca->ku & MFVI_KU_KEY_CERT_SIGN))
		return MFV_ERR_KEY_USAGE;
	if (ca->path_len >= 0) {
		/* RFC 5280 6.1.4 (l), (m): count the non-self-issued
		 * intermediates between this CA and the leaf. */
		for (i = 1; i < d; i++)
			if (!(ctx->certs[ctx->path[i]].flags & MFVI_C_SELF_ISSUED))
				below++;
		if (below > (unsigned)ca->path_len)
			return MFV_ERR_PATH_LEN;
	}
	if ((ca->flags & MFVI_C_HAS_EKU) && !(ca->eku & (purpose(ctx) | MFVI_EKU_ANY)))
		return MFV_ERR_EKU;
	return cert_time(ctx, ca);
}

/* Which certificates (index >= 1) are pinned: root[i] is the index of the
 * matching pin plus one, 0 if none. */
static int
find_anchors(const struct mfv_ctx *ctx, uint8_t root[MFV_MAX_CERTS])
{
	uint8_t h[MFV_HASH_LEN];
	const struct mfv_span *s;
	unsigned i, k;
	int rc;

	memset(root, 0, MFV_MAX_CERTS);
	for (i = 1; i < ctx->n_certs; i++) {
		/* the whole certificate, then its SubjectPublicKeyInfo */
		for (s = &ctx->certs[i].der;; s = &ctx->certs[i].spki) {
			if ((rc = mfv_be_hash(MFV_HASH_SHA256, s->p, s->len, h)) != 0)
				return rc;
			for (k = 0; k < ctx->n_roots; k++)
				if (mfvi_ct_eq(h, ctx->roots[k], MFV_HASH_LEN))
					root[i] = (uint8_t)(k + 1);
			if (s == &ctx->certs[i].spki)
				break;
		}
	}
	return 0;
}

static void
note(int *err, struct mfv_result *res, int rc, unsigned depth)
{
	if (*err == 0) {
		*err = rc;
		res->depth = (int)depth;
	}
}

static int
build_path(struct mfv_ctx *ctx, const uint8_t *anchors, struct mfv_result *res)
{
	uint8_t next[MFV_MAX_PATH];
	unsigned d = 0, j, k, used, sigs = 0;
	const struct mfv_cert *cur, *cand;
	int rc, err = 0;

	ctx->path[0] = 0;
	next[0] = 1;
	for (;;) {
		cur = &ctx->certs[ctx->path[d]];
		if (d > 0 && anchors[ctx->path[d]] != 0) {
			/* BR 7.1.2.1.2: a root's authorityKeyIdentifier, if
			 * any, is its own subjectKeyIdentifier.  Only the
			 * anchor: a self-issued intermediate (key rollover)
			 * names the old key. */
			if ((cur->flags & MFVI_C_SELF_ISSUED) && cur->aki.p != NULL &&
			    !mfvi_span_eq(&cur->aki, &cur->ski)) {
				res->depth = (int)d;
				return MFV_ERR_PROFILE;
			}
			ctx->path_len = (uint8_t)(d + 1);
			return 0;
		}
		/* Look for the next untried issuer of cur. */
		for (j = next[d]; j < ctx->n_certs; j++) {
			cand = &ctx->certs[j];
			used = 0;
			for (k = 0; k <= d; k++)
				used |= ctx->path[k] == j;
			if (used || !mfvi_span_eq(&cand->subject, &cur->issuer))
				continue;
			if (d + 1 >= MFV_MAX_PATH) {
				note(&err, res, MFV_ERR_CHAIN_TOO_LONG, d);
				continue;
			}
			if ((rc = issuer_policy(ctx, cand, d + 1)) != 0) {
				note(&err, res, rc, d + 1);
				continue;
			}
			if (++sigs > MFV_MAX_SIG_CHECKS) {
				/* Giving up is its own answer, whatever
				 * was seen on the way. */
				res->depth = (int)d;
				return MFV_ERR_TOO_MANY;
			}
			if ((rc = mfvi_cert_check_sig(cur, cand)) != 0) {
				if (rc == MFV_ERR_BACKEND) {
					res->depth = -1;
					return rc;
				}
				note(&err, res, rc, d);
				continue;
			}
			break;
		}
		if (j < ctx->n_certs) {
			next[d] = (uint8_t)(j + 1);
			d++;
			ctx->path[d] = (uint8_t)j;
			next[d] = 1;
			continue;
		}
		/* Dead end at cur. */
		note(&err, res,
		     (cur->flags & MFVI_C_SELF_ISSUED) ? MFV_ERR_UNTRUSTED_ROOT : MFV_ERR_ISSUER_NOT_FOUND,
		     d);
		if (d == 0)
			break;
		d--;
	}
	return err;
}

static int
verify_chain(struct mfv_ctx *ctx, const struct mfv_buf *certs, size_t n, struct mfv_result *res)
{
	uint8_t anchors[MFV_MAX_CERTS];
	unsigned i;
	int rc;

	if (ctx == NULL || certs == NULL || n == 0)
		return MFV_ERR_INVALID_ARG;
	if (n > MFV_MAX_CERTS)
		return MFV_ERR_TOO_MANY;
	if (ctx->n_roots == 0)
		return MFV_ERR_NO_ROOTS;
	ctx->n_certs = 0;
	ctx->path_len = 0;
	for (i = 0; i < n; i++) {
		if (certs[i].p == NULL)
			return MFV_ERR_INVALID_ARG;
		if ((rc = mfvi_cert_parse(&ctx->certs[i], certs[i].p, certs[i].len)) != 0) {
			res->depth = (int)i;
			return rc;
		}
	}
	ctx->n_certs = (uint8_t)n;
	res->depth = 0;
	if ((rc = leaf_policy(ctx, &ctx->certs[0], res)) != 0)
		return rc;
	res->depth = -1;
	if ((rc = find_anchors(ctx, anchors)) != 0)
		return rc;
	if ((rc = build_path(ctx, anchors, res)) != 0)
		return rc;
	res->depth = -1;
	res->path_len = ctx->path_len;
	res->leaf_not_after = ctx->certs[0].not_after;
	if (!(ctx->state & MFVI_HAVE_TIME))
		res->flags |= MFV_RES_TIME_UNKNOWN;
	if (ctx->certs[0].flags & MFVI_C_MUST_STAPLE)
		res->flags |= MFV_RES_MUST_STAPLE;
	memcpy(res->anchor, ctx->roots[anchors[ctx->path[ctx->path_len - 1]] - 1], MFV_HASH_LEN);
	return 0;
}

/* Raise *lkgt to t, never lower it. */
static void
advance(int64_t *lkgt, int64_t t)
{
	if (t > *lkgt)
		*lkgt = t;
}

static void
finish(const struct mfv_ctx *ctx, struct mfv_result *res)
{
	res->lkgt = ctx->lkgt;
	advance(&res->lkgt, ctx->certs[0].not_before);
}

int
mfv_verify_chain(struct mfv_ctx *ctx, const struct mfv_buf *certs, size_t n,
                 struct mfv_result *res)
{
	struct mfv_result dummy;
	int rc;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	res->depth = -1;
	if (ctx != NULL)
		res->lkgt = ctx->lkgt;
	if ((rc = verify_chain(ctx, certs, n, res)) != 0)
		return rc;
	if (res->flags & MFV_RES_MUST_STAPLE) {
		res->depth = 0;
		return MFV_ERR_OCSP_REQUIRED;
	}
	finish(ctx, res);
	if (res->lkgt > ctx->lkgt)
		res->flags |= MFV_RES_LKGT_ADVANCED;
	return 0;
}

int
mfv_verify(struct mfv_ctx *ctx, const struct mfv_buf *certs, size_t n,
           const struct mfv_buf *ocsp, struct mfv_result *res)
{
	struct mfv_result dummy;
	int64_t produced = 0, this_update = 0;
	int rc;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	res->depth = -1;
	if (ctx != NULL)
		res->lkgt = ctx->lkgt;
	if ((rc = verify_chain(ctx, certs, n, res)) != 0)
		return rc;
	if (ocsp != NULL && ocsp->len > 0) {
		if (ocsp->p == NULL)
			return MFV_ERR_INVALID_ARG;
		if (ctx->path_len < 2)
			return MFV_ERR_INVALID_ARG;
		rc = mfvi_ocsp_check(ctx, &ctx->certs[0], &ctx->certs[ctx->path[1]],
		                     ocsp->p, ocsp->len, &produced, &this_update);
		if (rc != 0) {
			res->depth = 0;
			return rc;
		}
		res->flags |= MFV_RES_OCSP_GOOD;
	} else if (res->flags & MFV_RES_MUST_STAPLE) {
		res->depth = 0;
		return MFV_ERR_OCSP_REQUIRED;
	}
	finish(ctx, res);
	advance(&res->lkgt, produced);
	advance(&res->lkgt, this_update);
	if (res->lkgt > ctx->lkgt)
		res->flags |= MFV_RES_LKGT_ADVANCED;
	return 0;
}
