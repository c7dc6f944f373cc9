/*
 * trust.c: the published trust bundles, as mayflyd serves them under
 * /trust/ (mayfly-bundle(5)).
 *
 * Bundles are self-authenticating (each is signed by roots the version
 * before pinned), so they go out over plain HTTP like OCSP responses and
 * CRLs. `mayfly bundle publish` records them in the database; here a
 * snapshot of every published version is kept in memory and taken again
 * when the newest version in the database changes, looked at no more
 * than once a second, so a publish shows within a second without a
 * reload and a flood of requests costs one query a second.
 *
 * /trust/since/N is every published version above N, concatenated: each
 * bundle is one self-delimiting DER SEQUENCE, so a device splits the
 * answer by reading tag and length, and a device that slept through three
 * rotations gets them in one request, oldest first.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "mferr.h"
#include "trust.h"
#include "util.h"

struct mfd_trust {
	pthread_mutex_t lock;
	int64_t checked_at;		/* when the database was last asked */
	uint32_t latest;		/* 0: nothing published */
	unsigned char *all;		/* every version, oldest first, concatenated */
	size_t len;
	size_t n;
	uint32_t *ver;
	size_t *off;			/* where each version starts in all */
	int64_t *published;
};

int
mfd_trust_new(struct mfd_trust **out)
{
	struct mfd_trust *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MF_ERR_NOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static void
mfd_trust_clear(struct mfd_trust *t)
{
	free(t->all);
	free(t->ver);
	free(t->off);
	free(t->published);
	t->all = NULL;
	t->ver = NULL;
	t->off = NULL;
	t->published = NULL;
	t->len = t->n = 0;
	t->latest = 0;
}

void
mfd_trust_free(struct mfd_trust *t)
{
	if (t == NULL)
		return;
	mfd_trust_clear(t);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int
mfd_trust_add(uint32_t version, const void *der, size_t len, int64_t published_at, void *arg)
{
	struct mfd_trust *t = arg;
	unsigned char *a;
	uint32_t *v;
	size_t *o;
	int64_t *p;

	if ((a = realloc(t->all, t->len + len)) == NULL)
		return MF_ERR_NOMEM;
	t->all = a;
	if ((v = realloc(t->ver, (t->n + 1) * sizeof(*v))) == NULL)
		return MF_ERR_NOMEM;
	t->ver = v;
	if ((o = realloc(t->off, (t->n + 1) * sizeof(*o))) == NULL)
		return MF_ERR_NOMEM;
	t->off = o;
	if ((p = realloc(t->published, (t->n + 1) * sizeof(*p))) == NULL)
		return MF_ERR_NOMEM;
	t->published = p;
	memcpy(t->all + t->len, der, len);
	t->ver[t->n] = version;
	t->off[t->n] = t->len;
	t->published[t->n] = published_at;
	t->len += len;
	t->n++;
	t->latest = version;
	return 0;
}

/* Takes the snapshot again if the database has a newer version; t->lock held. */
static int
mfd_trust_sync(struct mfd_ctx *ctx, struct mfd_trust *t)
{
	int64_t now = (int64_t)time(NULL);
	uint32_t latest = 0;
	int rc;

	if (t->checked_at == now)
		return 0;
	pthread_mutex_lock(&ctx->db_lock);
	rc = mf_db_bundle_latest(ctx->db, &latest);
	if (rc == 0 && latest != t->latest) {
		struct mfd_trust nt;

		/* Built aside and swapped in whole: a failed read keeps the old. */
		memset(&nt, 0, sizeof(nt));
		if ((rc = mf_db_bundle_list(ctx->db, 0, mfd_trust_add, &nt)) != 0) {
			mfd_trust_clear(&nt);
		} else {
			mfd_trust_clear(t);
			t->all = nt.all;
			t->len = nt.len;
			t->n = nt.n;
			t->ver = nt.ver;
			t->off = nt.off;
			t->published = nt.published;
			t->latest = nt.latest;
			mf_info("event=trust-bundles latest=%u count=%zu", t->latest, t->n);
		}
	}
	pthread_mutex_unlock(&ctx->db_lock);
	if (rc != 0 && t->n > 0) {
		/* Bundles are signed and versions only go up: what we hold
		 * stays good to serve while the database is away. */
		mf_warn("event=trust-bundles-stale err=%s latest=%u", mf_errname(rc), t->latest);
		rc = 0;
	}
	if (rc != 0)
		return rc;
	t->checked_at = now;
	return 0;
}

int
mfd_trust_get(struct mfd_ctx *ctx, enum mfd_trust_kind kind, unsigned long num,
    struct mfd_blob **out, int64_t *max_age)
{
	struct mfd_trust *t = ctx->trust;
	unsigned char *data = NULL;
	size_t i, from = 0, to = 0, first = 0;
	int64_t when = 0;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&t->lock);
	if ((rc = mfd_trust_sync(ctx, t)) != 0)
		goto out;
	rc = MF_ERR_NOTFOUND;
	if (t->n == 0)
		goto out;
	switch (kind) {
	case MFD_TRUST_LATEST:
		first = t->n - 1;
		from = t->off[first];
		to = t->len;
		*max_age = MFD_TRUST_AGE_LATEST;
		break;
	case MFD_TRUST_VERSION:
		for (i = 0; i < t->n && t->ver[i] != num; i++)
			;
		if (i == t->n)
			goto out;
		first = i;
		from = t->off[i];
		to = i + 1 < t->n ? t->off[i + 1] : t->len;
		/* A published version never changes. */
		*max_age = MFD_TRUST_AGE_VERSION;
		break;
	case MFD_TRUST_SINCE:
		for (i = 0; i < t->n && t->ver[i] <= num; i++)
			;
		first = i;
		from = i < t->n ? t->off[i] : t->len;
		to = t->len;
		*max_age = MFD_TRUST_AGE_LATEST;
		break;
	default:
		goto out;
	}
	/* Last-Modified: when the newest bundle in the answer was published
	 * (for an empty since/N, the newest of all). */
	when = t->published[kind == MFD_TRUST_VERSION ? first : t->n - 1];
	if ((data = malloc(to - from + 1)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(data, t->all + from, to - from);
	if ((*out = mfd_blob_new(data, to - from, "application/octet-stream", when, 0)) == NULL)
		rc = MF_ERR_NOMEM;
	else
		rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}
