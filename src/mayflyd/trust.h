/*
 * trust.h: the published trust bundles as mayflyd serves them
 * (GET /trust/latest, /trust/v/N, /trust/since/N; see trust.c).
 */
#ifndef MFD_TRUST_H
#define MFD_TRUST_H

#include <stdint.h>

#include "cache.h"
#include "route.h"

struct mfd_ctx;
struct mfd_trust;

/* Cache lifetimes (max-age): latest and since/N change at each publish;
 * a published version never changes. */
#define MFD_TRUST_AGE_LATEST	300
#define MFD_TRUST_AGE_VERSION	(7 * 86400)

int mfd_trust_new(struct mfd_trust **out);
void mfd_trust_free(struct mfd_trust *t);	/* NULL ok */

/*
 * The answer for a /trust/ route: a new blob reference in *out (caller
 * unrefs) and its max-age. MF_ERR_NOTFOUND when nothing is published or
 * version N is not; since/N above the newest version is an empty answer.
 * A database error is returned as is.
 */
int mfd_trust_get(struct mfd_ctx *ctx, enum mfd_trust_kind kind, unsigned long num,
    struct mfd_blob **out, int64_t *max_age);

#endif
