/*
 * refresh.c: keeps the pre-signed OCSP responses and the CRLs fresh.
 *
 * One thread, woken every 250 ms or at once by mfd_kick():
 *  - picks up revocations from the database (mf_db_revocations_since), made
 *    by `mayfly revoke` or POST /admin/revoke, re-signs the responses of
 *    those serials and rebuilds that issuer's CRL, so a revocation shows in
 *    OCSP within a second;
 *  - re-signs every cached response once 40 % of its validity has passed;
 *  - drops the responses of expired certificates (and their exported
 *    files), so memory follows the live certificates, not the log;
 *  - rebuilds each CRL every crl_interval;
 *  - at start (and after a reload) pre-signs the SHA-1 responses of every
 *    valid or revoked-but-unexpired certificate, so that the first request
 *    for a certificate is already a cache hit.
 * All signing is done by the signer process; this thread only asks.
 */
#include "mf_build.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/ocsp.h>

#include "daemon.h"
#include "httpguard.h"
#include "db.h"
#include "store/sql.h"
#include "mferr.h"
#include "util.h"

const int mfd_codes[MFD_NCODES] = { 200, 304, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503 };
const double mfd_buckets[MFD_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5
};
/* Around the promise that a revocation shows in OCSP within one second. */
static const double mfd_revvis_buckets[MFD_REVVIS_NBUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10
};

void
mfd_kick(struct mfd_ctx *ctx)
{
	pthread_mutex_lock(&ctx->kick_lock);
	ctx->kick = 1;
	pthread_cond_signal(&ctx->kick_cond);
	pthread_mutex_unlock(&ctx->kick_lock);
}

/*
 * Replaces path atomically (temporary file and rename) without fsync: the
 * exported files are a cache that the next refresh writes again, and an
 * fsync per response would cap re-signing at the disk's flush rate.
 */
static int
mfd_export_write(const char *path, const struct mfd_blob *b)
{
	char tmp[PATH_MAX];
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)pthread_self() % 100000) >=
	    (int)sizeof(tmp))
		return MF_ERR_INVAL;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return MF_ERR_IO;
	ok = write(fd, b->data, b->len) == (ssize_t)b->len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return MF_ERR_IO;
	}
	return 0;
}

/*
 * Writes the response as a file named like its GET path (the base64 of the
 * minimal request, '/' '+' '=' percent-escaped) so nginx can serve
 * export_dir as /ocsp/. Only SHA-1 CertIDs: the ones stapling servers send.
 * With b NULL, removes that file instead.
 */
static void
mfd_export(struct mfd_ctx *ctx, const char *dir, const struct mfd_cache_key *k,
    const struct mfd_blob *b)
{
	struct mfd_certid id;
	struct mfd_issuer_id *is;
	unsigned char *der = NULL;
	size_t len, i, o = 0;
	char b64[512], name[1600], *path = NULL;

	if (k->alg != MFD_ALG_SHA1)
		return;
	memset(&id, 0, sizeof(id));
	pthread_rwlock_rdlock(&ctx->lock);
	if (k->issuer >= ctx->pub->niss) {
		pthread_rwlock_unlock(&ctx->lock);
		return;
	}
	is = &ctx->pub->ids[k->issuer];
	memcpy(id.name_hash, is->sha1_name, 20);
	memcpy(id.key_hash, is->sha1_key, 20);
	pthread_rwlock_unlock(&ctx->lock);
	id.alg = MFD_ALG_SHA1;
	id.hlen = 20;
	memcpy(id.serial, k->serial, k->serial_len);
	id.serial_len = k->serial_len;
	if (mfd_ocsp_req_encode(&id, &der, &len) != 0 || len > 360)
		goto out;
	mfd_b64_encode(der, len, b64);
	for (i = 0; b64[i] != '\0'; i++) {
		if (b64[i] == '/' || b64[i] == '+' || b64[i] == '=')
			o += (size_t)snprintf(name + o, sizeof(name) - o, "%%%02X", b64[i]);
		else
			name[o++] = b64[i];
	}
	name[o] = '\0';
	if ((path = mf_path_join(dir, name)) == NULL)
		goto out;
	if (b == NULL) {
		if (unlink(path) != 0 && errno != ENOENT)
			mf_warn("event=ocsp-export-unlink-failed path=%s", path);
	} else if (mfd_export_write(path, b) != 0) {
		mf_warn("event=ocsp-export-failed path=%s", path);
	}
out:
	OPENSSL_free(der);
	free(path);
}

/*
 * Takes a signed response into the cache (der is taken over); us is how long
 * the signing took, for the histogram. A new reference in *out if out.
 */
static int
mfd_ocsp_store(struct mfd_ctx *ctx, const struct mfd_cache_key *key,
    const struct mfd_sig_meta *m, unsigned char *der, size_t len, int64_t us,
    struct mfd_blob **out)
{
	struct mfd_blob *b;
	size_t i;

	atomic_fetch_add(&ctx->m.sign_count, 1);
	atomic_fetch_add(&ctx->m.sign_sum_us, (unsigned long long)us);
	for (i = 0; i < MFD_NBUCKETS && (double)us / 1e6 > mfd_buckets[i]; i++)
		;
	atomic_fetch_add(&ctx->m.sign_bucket[i], 1);
	if ((b = mfd_blob_new(der, len, "application/ocsp-response", m->this_update,
	    m->next_update)) == NULL)
		return MF_ERR_NOMEM;
	b->cert_status = m->status;
	b->not_after = m->not_after;
	if (out != NULL) {
		mfd_blob_ref(b);
		*out = b;
	}
	return mfd_cache_put(ctx->cache, key, b);
}

int
mfd_ocsp_refresh(struct mfd_ctx *ctx, const struct mfd_cache_key *key, struct mfd_blob **out)
{
	struct mfd_sig_meta m;
	unsigned char *der = NULL;
	size_t len = 0;
	int64_t t0;
	int rc;

	if (out != NULL)
		*out = NULL;
	t0 = mf_mono_us();
	rc = mfd_signer_ocsp(ctx->signer, key->issuer, key->alg, key->serial, key->serial_len, &m,
	    &der, &len);
	if (rc != 0)
		return rc;
	return mfd_ocsp_store(ctx, key, &m, der, len, mf_mono_us() - t0, out);
}

int
mfd_ocsp_presigned(struct mfd_ctx *ctx, struct mfd_sig_issued *r)
{
	struct mfd_cache_key k;
	struct mfd_blob *b;
	unsigned char *der = r->ocsp;
	size_t niss;
	int rc;

	if (der == NULL)
		return MF_ERR_INVAL;
	r->ocsp = NULL;
	pthread_rwlock_rdlock(&ctx->lock);
	niss = ctx->pub->niss;
	pthread_rwlock_unlock(&ctx->lock);
	/*
	 * The signer's index comes from the same configuration; right after a
	 * reload they may differ for a moment, and the pre-sign pass that
	 * follows every reload signs the response again anyway.
	 */
	if (r->issuer >= niss || r->serial_len == 0 || r->serial_len > sizeof(k.serial) ||
	    r->meta.status != V_OCSP_CERTSTATUS_GOOD) {
		free(der);
		return MF_ERR_INVAL;
	}
	mfd_cache_key_set(&k, r->issuer, MFD_ALG_SHA1, r->serial, r->serial_len);
	if ((b = mfd_blob_new(der, r->ocsp_len, "application/ocsp-response", r->meta.this_update,
	    r->meta.next_update)) == NULL)
		return MF_ERR_NOMEM;
	b->cert_status = r->meta.status;
	b->not_after = r->meta.not_after;
	/*
	 * Only into an empty slot: anything there was signed after the commit,
	 * from the log (a revocation made in the meantime, say), so it is at
	 * least as new as this "good" and must not be replaced by it.
	 */
	if ((rc = mfd_cache_add(ctx->cache, &k, b)) == 0)
		atomic_fetch_add(&ctx->m.presigned, 1);
	return rc;
}

struct mfd_batch_arg {
	struct mfd_ctx *ctx;
	const struct mfd_cache_key *keys;
	int64_t t0;
	int err;
};

static void
mfd_batch_cb(void *arg, size_t i, int rc, const struct mfd_sig_meta *m, unsigned char *der,
    size_t len)
{
	struct mfd_batch_arg *a = arg;

	if (rc == MF_ERR_OCSP_UNAUTHORIZED) {
		/* Not (or no longer) in the log for this issuer: nothing to serve. */
		mfd_cache_del(a->ctx->cache, &a->keys[i]);
		return;
	}
	if (rc != 0) {
		a->err = rc;
		return;
	}
	if (mfd_ocsp_store(a->ctx, &a->keys[i], m, der, len, mf_mono_us() - a->t0, NULL) != 0)
		a->err = MF_ERR_NOMEM;
}

/*
 * Signs keys[0..n) in pipelined batches: the signer works on the next
 * request while we file the previous answer.
 */
static int
mfd_ocsp_refresh_many(struct mfd_ctx *ctx, const struct mfd_cache_key *keys, size_t n)
{
	struct mfd_sig_item items[MFD_SIG_BATCH];
	size_t off, i;
	int rc;

	for (off = 0; off < n && !ctx->stop; off += MFD_SIG_BATCH) {
		struct mfd_batch_arg a = { ctx, keys + off, mf_mono_us(), 0 };
		size_t m = n - off < MFD_SIG_BATCH ? n - off : MFD_SIG_BATCH;

		for (i = 0; i < m; i++) {
			items[i].issuer = keys[off + i].issuer;
			items[i].alg = keys[off + i].alg;
			items[i].serial = keys[off + i].serial;
			items[i].serial_len = keys[off + i].serial_len;
		}
		if ((rc = mfd_signer_ocsp_batch(ctx->signer, items, m, mfd_batch_cb, &a)) != 0)
			return rc;
		if (a.err != 0)
			return a.err;
	}
	return 0;
}

/*
 * The export thread: every half second, writes the SHA-1 responses that
 * changed since their last export, and every two seconds stores new
 * responses in the database (persist.c). Kept apart from signing because creating
 * files can be far slower than signing on some disks, and a revocation must
 * not wait behind it.
 */
static int
mfd_pick_unexported(const struct mfd_cache_key *k, const struct mfd_blob *b, void *arg)
{
	return k->alg == MFD_ALG_SHA1 && b->cert_status != V_OCSP_CERTSTATUS_UNKNOWN &&
	    !atomic_load(&b->exported);
}

void *
mfd_exporter(void *arg)
{
	struct mfd_ctx *ctx = arg;
	unsigned round = 0;

	while (!ctx->stop) {
		struct mfd_cache_key *keys = NULL;
		size_t n = 0, i;
		char *dir = NULL;

		pthread_rwlock_rdlock(&ctx->lock);
		if (ctx->pub->cfg->ocsp_export_dir != NULL)
			dir = strdup(ctx->pub->cfg->ocsp_export_dir);
		pthread_rwlock_unlock(&ctx->lock);
		if (dir != NULL && mfd_cache_select(ctx->cache, mfd_pick_unexported, NULL, &keys,
		    &n) == 0) {
			for (i = 0; i < n && !ctx->stop; i++) {
				struct mfd_blob *b = mfd_cache_get(ctx->cache, &keys[i]);

				if (b == NULL)
					continue;
				mfd_export(ctx, dir, &keys[i], b);
				atomic_store(&b->exported, 1);
				mfd_blob_unref(b);
			}
		}
		free(keys);
		free(dir);
		/* Every two seconds, once the first pre-sign pass is done. */
		if (++round % 4 == 0 && atomic_load(&ctx->presigned))
			mfd_persist_save(ctx, (int64_t)time(NULL));
		usleep(500000);
	}
	return NULL;
}

/* ---- CRLs ------------------------------------------------------------------------ */

static int
mfd_crl_rebuild(struct mfd_ctx *ctx, size_t i)
{
	struct mfd_sig_meta m;
	struct mfd_blob *b, *old = NULL;
	unsigned char *der;
	size_t len;
	int64_t t0 = mf_mono_us();
	int rc;

	/* The signer reads the revocations of unexpired certificates and signs. */
	if ((rc = mfd_signer_crl(ctx->signer, (unsigned)i, &m, &der, &len)) != 0)
		return rc;
	if ((b = mfd_blob_new(der, len, "application/pkix-crl", m.this_update,
	    m.next_update)) == NULL)
		return MF_ERR_NOMEM;
	pthread_rwlock_wrlock(&ctx->lock);
	if (i < ctx->ncrl) {
		old = ctx->crl[i];
		ctx->crl[i] = b;
		b = NULL;
	}
	pthread_rwlock_unlock(&ctx->lock);
	mfd_blob_unref(old);
	mfd_blob_unref(b);
	mf_info("event=crl-built issuer=%zu entries=%d bytes=%zu ms=%.1f", i, (int)m.status, len,
	    (double)(mf_mono_us() - t0) / 1000.0);
	return 0;
}

/* ---- the refresher ------------------------------------------------------------- */

struct mfd_rev_acc {
	struct mfd_ctx *ctx;
	char **issuers;			/* names, copied under the lock */
	size_t niss;
	int *crl_dirty;
	struct mfd_cache_key *keys;
	size_t n, cap;
	int count_revoked;
	int64_t skip_expired_before;	/* presign: ignore certificates expired by then */
	/* The revocation poll: when each revocation became known, for the metric. */
	struct mfd_revseen *seen;
	size_t nseen, capseen;
	int64_t poll_prev_us;		/* when the previous poll began */
};

struct mfd_revseen {
	struct mfd_cache_key k;
	int64_t us;			/* mf_mono_us() of the earliest moment it may have existed */
	int src;			/* MFD_REV_ADMIN or MFD_REV_POLL */
};

/* ---- how long a revocation takes to reach OCSP ---------------------------------- */

void
mfd_revnote_add(struct mfd_ctx *ctx, const char *serial, int64_t us)
{
	struct mfd_revnote *n = &ctx->revnote[ctx->revnote_next++ % MFD_REVNOTE_MAX];

	snprintf(n->serial, sizeof(n->serial), "%s", serial);
	n->us = us;
}

/*
 * When the revocation of serial became known to us: the admin API's request
 * time if it came that way (the note is used up), else, for a revocation
 * another process committed (`mayfly revoke`), the start of the previous
 * poll, which did not see it yet: an upper bound, at most one poll period
 * (plus whatever that pass of the refresher did) too early. Under db_lock.
 */
static void
mfd_revseen_when(struct mfd_ctx *ctx, const char *serial, int64_t poll_prev_us, int64_t *us,
    int *src)
{
	size_t i;

	for (i = 0; i < MFD_REVNOTE_MAX; i++) {
		struct mfd_revnote *n = &ctx->revnote[i];

		if (n->serial[0] != '\0' && strcasecmp(n->serial, serial) == 0) {
			*us = n->us;
			*src = MFD_REV_ADMIN;
			n->serial[0] = '\0';
			return;
		}
	}
	*us = poll_prev_us;
	*src = MFD_REV_POLL;
}

static void
mfd_revvis_record(struct mfd_ctx *ctx, int src, int64_t us)
{
	struct mfd_metrics *m = &ctx->m;
	size_t i;

	if (us < 0)
		us = 0;
	for (i = 0; i < MFD_REVVIS_NBUCKETS && (double)us / 1e6 > mfd_revvis_buckets[i]; i++)
		;
	atomic_fetch_add(&m->revvis_bucket[src][i], 1);
	atomic_fetch_add(&m->revvis_sum_us[src], (unsigned long long)us);
	/* The refresher is the only writer: no compare-and-swap needed. */
	if ((unsigned long long)us > atomic_load(&m->revvis_max_us[src]))
		atomic_store(&m->revvis_max_us[src], (unsigned long long)us);
	atomic_fetch_add(&m->revvis_count[src], 1);
}

/*
 * After the re-signing: each revocation whose revoked response is now in the
 * cache (so it is what requests get) counts, from when it became known to
 * now. One whose re-signing failed is not counted; it was logged and its old
 * response withdrawn (mfd_drop_unless_revoked).
 */
static void
mfd_revvis_done(struct mfd_ctx *ctx, const struct mfd_revseen *seen, size_t n)
{
	int64_t now = mf_mono_us();
	size_t i;

	for (i = 0; i < n; i++) {
		struct mfd_blob *b = mfd_cache_get(ctx->cache, &seen[i].k);

		if (b != NULL && b->cert_status == V_OCSP_CERTSTATUS_REVOKED) {
			mfd_revvis_record(ctx, seen[i].src, now - seen[i].us);
			mf_info("event=revocation-visible source=%s ms=%lld",
			    seen[i].src == MFD_REV_ADMIN ? "admin-api" : "poll",
			    (long long)((now - seen[i].us) / 1000));
		}
		mfd_blob_unref(b);
	}
}

static int
mfd_issuer_index(struct mfd_rev_acc *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->niss; i++)
		if (strcmp(a->issuers[i], name) == 0)
			return (int)i;
	return -1;
}

static int
mfd_acc_add(struct mfd_rev_acc *a, const struct mfd_cache_key *k)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		struct mfd_cache_key *nk = realloc(a->keys, nc * sizeof(*nk));

		if (nk == NULL)
			return MF_ERR_NOMEM;
		a->keys = nk;
		a->cap = nc;
	}
	a->keys[a->n++] = *k;
	return 0;
}

/* Collects (issuer, SHA-1, serial) keys of records; marks CRLs of revocations dirty. */
static int
mfd_rev_cb(const struct mf_cert_rec *r, void *arg)
{
	struct mfd_rev_acc *a = arg;
	struct mfd_cache_key k;
	unsigned char s[20];
	char hex[2 * MF_SERIAL_MAX + 2];
	size_t n, hl = strlen(r->serial);
	int i;

	if ((i = mfd_issuer_index(a, r->issuer)) < 0 || hl == 0 || hl > 2 * MF_SERIAL_MAX)
		return 0;
	if (r->not_after < a->skip_expired_before)
		return 0;
	hex[0] = '0';
	memcpy(hex + 1, r->serial, hl + 1);
	if (mf_unhex((hl & 1) ? hex : hex + 1, s, sizeof(s), &n) != 0)
		return 0;
	{
		const unsigned char *p = s;

		while (n > 1 && p[0] == 0) {	/* the cache keys magnitudes */
			p++;
			n--;
		}
		mfd_cache_key_set(&k, (unsigned)i, MFD_ALG_SHA1, p, n);
	}
	if (r->revoked_at != 0 && a->count_revoked) {
		a->crl_dirty[i] = 1;
		atomic_fetch_add(&a->ctx->m.revoked, 1);
		if (a->nseen == a->capseen) {
			size_t nc = a->capseen ? a->capseen * 2 : 16;
			struct mfd_revseen *ns = realloc(a->seen, nc * sizeof(*ns));

			if (ns == NULL)
				return MF_ERR_NOMEM;
			a->seen = ns;
			a->capseen = nc;
		}
		a->seen[a->nseen].k = k;
		mfd_revseen_when(a->ctx, r->serial, a->poll_prev_us, &a->seen[a->nseen].us,
		    &a->seen[a->nseen].src);
		a->nseen++;
	}
	return mfd_acc_add(a, &k);
}

struct mfd_stale_arg {
	int64_t now;
	int64_t validity;
};

/* Due for re-signing; an expired certificate's response is left to mfd_expire. */
static int
mfd_pick_stale(const struct mfd_cache_key *k, const struct mfd_blob *b, void *arg)
{
	const struct mfd_stale_arg *s = arg;

	if (b->not_after != 0 && b->not_after < s->now)
		return 0;
	return s->now >= b->this_update + MFD_RESIGN_AFTER(s->validity);
}

/* Looks for expired certificates' responses at most this often (seconds). */
#define MFD_EXPIRE_EVERY	5
/* Hands freed memory back to the system after this many responses were dropped. */
#define MFD_TRIM_AFTER		1000

struct mfd_expire_arg {
	struct mfd_ctx *ctx;
	const char *dir;		/* ocsp_export_dir, or NULL */
};

static void
mfd_expire_gone(const struct mfd_cache_key *k, void *arg)
{
	struct mfd_expire_arg *a = arg;

	if (a->dir != NULL)
		mfd_export(a->ctx, a->dir, k, NULL);
}

/*
 * Responses of certificates that expired leave the cache and the export
 * directory: nobody staples them, and with 24-hour certificates they would
 * otherwise pile up by the fleet's size every day. The walk is skipped
 * until the earliest not_after in the cache has passed. glibc keeps what
 * is freed in its arenas; after many drops malloc_trim gives it back.
 */
static void
mfd_expire(struct mfd_ctx *ctx, int64_t now, int64_t *last, size_t *since_trim)
{
	struct mfd_expire_arg a = { ctx, NULL };
	char *dir = NULL;
	size_t n = 0, bytes = 0;

	if (now < *last + MFD_EXPIRE_EVERY || now <= mfd_cache_next_expiry(ctx->cache))
		return;
	*last = now;
	pthread_rwlock_rdlock(&ctx->lock);
	if (ctx->pub->cfg->ocsp_export_dir != NULL)
		dir = strdup(ctx->pub->cfg->ocsp_export_dir);
	pthread_rwlock_unlock(&ctx->lock);
	a.dir = dir;
	mfd_cache_expire(ctx->cache, now, mfd_expire_gone, &a, &n, &bytes);
	free(dir);
	if (n == 0)
		return;
	atomic_fetch_add(&ctx->m.cache_expired, n);
	mf_debug("event=ocsp-cache-expired dropped=%zu bytes=%zu", n, bytes);
	if ((*since_trim += n) >= MFD_TRIM_AFTER) {
		malloc_trim(0);
		atomic_fetch_add(&ctx->m.cache_trims, 1);
		*since_trim = 0;
	}
}

/*
 * Re-signs keys[0..n). With want >= 0 (the pre-sign pass), an entry that is
 * still fresh and already has status want is kept as it is.
 */
static void
mfd_resign_if(struct mfd_ctx *ctx, const struct mfd_cache_key *keys, size_t n, int64_t now,
    int want, int64_t validity)
{
	struct mfd_cache_key *todo;
	size_t i, m = 0;
	int rc;

	if ((todo = malloc((n + 1) * sizeof(*todo))) == NULL)
		return;
	for (i = 0; i < n && !ctx->stop; i++) {
		struct mfd_blob *b = mfd_cache_get(ctx->cache, &keys[i]);
		int drop = 0;

		if (b != NULL && want >= 0 && b->cert_status == want &&
		    now < b->this_update + MFD_RESIGN_AFTER(validity)) {
			mfd_blob_unref(b);
			continue;
		}
		if (b != NULL) {
			/* Expired certificates leave the cache. */
			drop = b->not_after != 0 && b->not_after < now;
			mfd_blob_unref(b);
		}
		if (drop)
			mfd_cache_del(ctx->cache, &keys[i]);
		else
			todo[m++] = keys[i];
	}
	/* Fail closed: keep serving what is still valid, retry on the next pass. */
	if (m > 0 && (rc = mfd_ocsp_refresh_many(ctx, todo, m)) != 0)
		mf_err("event=ocsp-resign-failed err=%s", mf_errname(rc));
	free(todo);
}

static void
mfd_resign(struct mfd_ctx *ctx, const struct mfd_cache_key *keys, size_t n, int64_t now)
{
	mfd_resign_if(ctx, keys, n, now, -1, 0);
}

/*
 * keys[0..n) name revoked certificates. Whatever still says otherwise once
 * the re-signing is done (it failed: the HSM is gone, the signer down) is
 * dropped from the cache and from the export directory, so that nothing
 * we serve contradicts the log: a request then gets tryLater, not "good".
 * XXX An export already under way for one of them may write its file again.
 */
static void
mfd_drop_unless_revoked(struct mfd_ctx *ctx, const struct mfd_cache_key *keys, size_t n)
{
	char *dir = NULL;
	size_t i, dropped = 0;

	pthread_rwlock_rdlock(&ctx->lock);
	if (ctx->pub->cfg->ocsp_export_dir != NULL)
		dir = strdup(ctx->pub->cfg->ocsp_export_dir);
	pthread_rwlock_unlock(&ctx->lock);
	for (i = 0; i < n; i++) {
		struct mfd_blob *b = mfd_cache_get(ctx->cache, &keys[i]);

		if (b != NULL && b->cert_status == V_OCSP_CERTSTATUS_REVOKED) {
			mfd_blob_unref(b);
			continue;
		}
		if (b != NULL) {
			mfd_blob_unref(b);
			mfd_cache_del(ctx->cache, &keys[i]);
			dropped++;
		}
		if (dir != NULL)
			mfd_export(ctx, dir, &keys[i], NULL);
	}
	free(dir);
	if (dropped > 0)
		mf_err("event=ocsp-revoked-unsigned count=%zu msg=\"revoked, not re-signed yet: "
		    "their old responses are withdrawn, requests get tryLater\"", dropped);
}

/* Re-signs SHA-1 and (if cached) SHA-256 responses of the collected serials. */
static void
mfd_resign_serials(struct mfd_ctx *ctx, struct mfd_rev_acc *a, int64_t now)
{
	size_t i, n = a->n;

	for (i = 0; i < n; i++) {
		struct mfd_cache_key k = a->keys[i];
		struct mfd_blob *b;

		k.alg = MFD_ALG_SHA256;
		if ((b = mfd_cache_get(ctx->cache, &k)) != NULL) {
			mfd_blob_unref(b);
			mfd_acc_add(a, &k);
		}
	}
	mfd_resign(ctx, a->keys, a->n, now);
	mfd_drop_unless_revoked(ctx, a->keys, a->n);
}

static int
mfd_acc_init(struct mfd_ctx *ctx, struct mfd_rev_acc *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	a->ctx = ctx;
	pthread_rwlock_rdlock(&ctx->lock);
	a->niss = ctx->pub->niss;
	a->issuers = calloc(a->niss + 1, sizeof(*a->issuers));
	a->crl_dirty = calloc(a->niss + 1, sizeof(*a->crl_dirty));
	for (i = 0; a->issuers != NULL && i < a->niss; i++)
		a->issuers[i] = strdup(ctx->pub->iss[i].name);
	pthread_rwlock_unlock(&ctx->lock);
	if (a->issuers == NULL || a->crl_dirty == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < a->niss; i++)
		if (a->issuers[i] == NULL)
			return MF_ERR_NOMEM;
	return 0;
}

static void
mfd_acc_free(struct mfd_rev_acc *a)
{
	size_t i;

	for (i = 0; a->issuers != NULL && i < a->niss; i++)
		free(a->issuers[i]);
	free(a->issuers);
	free(a->crl_dirty);
	free(a->keys);
	free(a->seen);
}

/*
 * A copy of the audit log's head outside the database: each new head goes
 * to our log (the journal), at most once a second. Whoever can rewrite the
 * database cannot rewrite the journal too; `mayfly audit verify --head`
 * compares a head taken from there.
 */
static void
mfd_audit_head_log(struct mfd_ctx *ctx, int64_t *last_id)
{
	unsigned char hash[32];
	char hex[65];
	int64_t id = 0;
	int rc;

	pthread_mutex_lock(&ctx->db_lock);
	rc = mf_db_audit_head(ctx->db, &id, hash);
	pthread_mutex_unlock(&ctx->db_lock);
	if (rc != 0 || id == *last_id)
		return;
	*last_id = id;
	mf_hex(hash, sizeof(hash), hex);
	mf_info("event=audit-head id=%lld sha256=%s", (long long)id, hex);
}

/*
 * The first pass: every current certificate gets its SHA-1 response, unless
 * a fresh one with the right status was loaded from the database.
 */
static void
mfd_presign(struct mfd_ctx *ctx, int64_t now, int64_t validity)
{
	/* Both walk the live certificates only (the expiry index), not the whole log. */
	static const int which[2] = { MF_LIST_VALID, MF_LIST_REVOKED_LIVE };
	static const int want[2] = { V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED };
	int64_t t0 = mf_mono_us();
	size_t total = 0;
	int pass, rc;

	for (pass = 0; pass < 2; pass++) {
		struct mfd_rev_acc a;

		if (mfd_acc_init(ctx, &a) != 0) {
			mfd_acc_free(&a);
			return;
		}
		a.skip_expired_before = now;
		pthread_mutex_lock(&ctx->db_lock);
		rc = mf_db_cert_list(ctx->db, which[pass], NULL, now, mfd_rev_cb, &a);
		pthread_mutex_unlock(&ctx->db_lock);
		if (rc != 0)
			mf_err("event=presign-list-failed err=%s", mf_errname(rc));
		else
			mfd_resign_if(ctx, a.keys, a.n, now, want[pass], validity);
		/* A revocation made while we were down: no stale file or entry survives. */
		if (rc == 0 && want[pass] == V_OCSP_CERTSTATUS_REVOKED)
			mfd_drop_unless_revoked(ctx, a.keys, a.n);
		total += a.n;
		mfd_acc_free(&a);
	}
	mf_info("event=presigned responses=%zu ms=%lld", total,
	    (long long)((mf_mono_us() - t0) / 1000));
}

void *
mfd_refresher(void *arg)
{
	struct mfd_ctx *ctx = arg;
	int64_t last_rev = 0, last_cert = 0, last_scan = 0, head_id = -1, *crl_at = NULL;
	int64_t poll_prev_us, cert_seen = 0, cert_seen_us = 0, poll_err_said = 0;
	int64_t expired_at = 0;
	int poll_err = 0;
	size_t ncrl_at = 0, since_trim = 0, i;
	int first = 1;

	/*
	 * Everything revoked before now is covered by the first pre-sign pass:
	 * start polling after the newest revocation, found without walking
	 * years of them.
	 */
	poll_prev_us = mf_mono_us();
	pthread_mutex_lock(&ctx->db_lock);
	if (mf_db_revocation_last(ctx->db, &last_rev) != 0)
		last_rev = 0;
	if (mf_db_cert_last(ctx->db, &last_cert) != 0)
		last_cert = 0;
	pthread_mutex_unlock(&ctx->db_lock);
	cert_seen = last_cert;
	while (!ctx->stop) {
		struct mfd_rev_acc a;
		int64_t now = (int64_t)time(NULL), validity, interval;
		int flush;

		pthread_mutex_lock(&ctx->kick_lock);
		flush = ctx->flush;
		ctx->flush = 0;
		ctx->kick = 0;
		pthread_mutex_unlock(&ctx->kick_lock);
		if (flush) {
			mfd_cache_clear(ctx->cache);
			first = 1;
		}
		pthread_rwlock_rdlock(&ctx->lock);
		validity = ctx->pub->cfg->ocsp_validity;
		interval = ctx->pub->cfg->crl_interval;
		if (ncrl_at != ctx->ncrl || flush) {	/* a reload starts with no CRLs */
			free(crl_at);
			ncrl_at = ctx->ncrl;
			crl_at = calloc(ncrl_at + 1, sizeof(*crl_at));
		}
		pthread_rwlock_unlock(&ctx->lock);

		/* 1. Revocations since the last poll. */
		if (mfd_acc_init(ctx, &a) == 0) {
			int64_t poll_us = mf_mono_us();
			int rc;

			a.count_revoked = 1;
			a.poll_prev_us = poll_prev_us;
			pthread_mutex_lock(&ctx->db_lock);
			rc = mf_db_revocations_since(ctx->db, last_rev, &last_rev, mfd_rev_cb, &a);
			pthread_mutex_unlock(&ctx->db_lock);
			/*
			 * Said when it starts failing, once a minute while it goes
			 * on (a database out of reach for an hour is 14,400 polls),
			 * and when it works again.
			 */
			if (rc != 0 && (rc != poll_err || now >= poll_err_said + 60)) {
				mf_err("event=revocation-poll-failed err=%s", mf_errname(rc));
				poll_err_said = now;
			} else if (rc == 0 && poll_err != 0) {
				mf_info("event=revocation-poll-recovered");
			}
			poll_err = rc;
			if (rc == 0)
				poll_prev_us = poll_us;
			if (a.n > 0) {
				mf_info("event=revocations-seen count=%zu", a.n);
				mfd_resign_serials(ctx, &a, now);
				mfd_revvis_done(ctx, a.seen, a.nseen);
			}
			for (i = 0; crl_at != NULL && i < a.niss && i < ncrl_at; i++)
				if (a.crl_dirty[i])
					crl_at[i] = 0;
		}
		mfd_acc_free(&a);

		/*
		 * 1b. Certificates logged since the last poll by someone else:
		 * another node on the same PostgreSQL log, or `mayfly issue`.
		 * Their responses are signed now, so that this node answers for
		 * them from memory even while the database is out of reach.
		 * Only rows seen a second ago or more are taken: by then our
		 * own issuance has its pre-signed response from the signer, is
		 * found in the cache and skipped, and no response is signed
		 * twice.
		 */
		if (!first && mf_mono_us() - cert_seen_us >= 1000000) {
			int64_t upto = cert_seen;
			int rc;

			pthread_mutex_lock(&ctx->db_lock);
			if (mf_db_cert_last(ctx->db, &cert_seen) != 0)
				cert_seen = upto;
			pthread_mutex_unlock(&ctx->db_lock);
			cert_seen_us = mf_mono_us();
			if (upto > last_cert && (rc = mfd_acc_init(ctx, &a)) == 0) {
				a.skip_expired_before = now;
				pthread_mutex_lock(&ctx->db_lock);
				rc = mf_db_certs_since(ctx->db, last_cert, upto, &last_cert, mfd_rev_cb,
				    &a);
				pthread_mutex_unlock(&ctx->db_lock);
				if (rc != 0 && poll_err == 0)
					mf_err("event=certificate-poll-failed err=%s", mf_errname(rc));
				else if (rc == 0 && a.n > 0) {
					mfd_resign_if(ctx, a.keys, a.n, now, V_OCSP_CERTSTATUS_GOOD,
					    validity);
					mf_info("event=certificates-seen count=%zu last_id=%lld", a.n,
					    (long long)last_cert);
				}
				mfd_acc_free(&a);
			} else if (upto > last_cert) {
				mfd_acc_free(&a);	/* a failed init frees what it got */
			}
		}

		/* 2. CRLs: on revocation, on the timer, and at start. */
		for (i = 0; crl_at != NULL && i < ncrl_at && !ctx->stop; i++) {
			if (now < crl_at[i] + interval)
				continue;
			if (mfd_crl_rebuild(ctx, i) != 0) {
				mf_err("event=crl-build-failed issuer=%zu", i);
				crl_at[i] = now - interval + 10;	/* retry in 10 s */
			} else {
				crl_at[i] = now;
			}
		}

		/* 3. Pre-sign at start and after a reload. */
		if (first) {
			if (!flush) {
				size_t n = mfd_persist_load(ctx, now);

				if (n > 0)
					mf_info("event=ocsp-loaded responses=%zu", n);
			}
			mfd_presign(ctx, now, validity);
			first = 0;
			ctx->presigned = 1;
		}

		/* 4. Drop expired certificates' responses; re-sign at 40 %; once a second. */
		if (now != last_scan) {
			struct mfd_stale_arg sa = { now, validity };
			struct mfd_cache_key *keys;
			size_t n;

			last_scan = now;
			mfd_expire(ctx, now, &expired_at, &since_trim);
			if (mfd_cache_select(ctx->cache, mfd_pick_stale, &sa, &keys, &n) == 0) {
				mfd_resign(ctx, keys, n, now);
				free(keys);
			}
			mfd_audit_head_log(ctx, &head_id);
		}

		pthread_mutex_lock(&ctx->kick_lock);
		if (!ctx->kick && !ctx->stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 250 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ctx->kick_cond, &ctx->kick_lock, &ts);
		}
		pthread_mutex_unlock(&ctx->kick_lock);
	}
	free(crl_at);
	return NULL;
}

void *
mfd_notifier(void *arg)
{
	struct mfd_ctx *ctx = arg;
	struct mf_sql *h = NULL;
	char *target, why[256], payload[64];
	int64_t retry_at = 0;
	int rc;

	pthread_rwlock_rdlock(&ctx->lock);
	target = strdup(ctx->pub->cfg->database);
	pthread_rwlock_unlock(&ctx->lock);
	if (target == NULL || !mf_sql_is_pg_uri(target)) {
		free(target);
		return NULL;
	}
	while (!ctx->stop) {
		struct pollfd pfd;

		if (h == NULL) {
			if ((int64_t)time(NULL) < retry_at) {
				usleep(200 * 1000);
				continue;
			}
			if (mf_sql_open_pg(target, 1, &h, why, sizeof(why)) != 0 ||
			    mf_sql_listen(h, "mayfly_revocation") != 0) {
				mf_sql_close(h);
				h = NULL;
				retry_at = (int64_t)time(NULL) + 1;
				continue;
			}
			mf_info("event=notify-listening channel=mayfly_revocation");
			/* Whatever was committed while we were not listening: poll now. */
			mfd_kick(ctx);
		}
		pfd.fd = mf_sql_socket(h);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 500) < 0) {
			if (pfd.fd >= 0 && errno == EINTR)
				continue;
			rc = -1;
		} else {
			int woke = 0;

			while ((rc = mf_sql_notification(h, payload, sizeof(payload))) == 1) {
				atomic_fetch_add(&ctx->m.notified, 1);
				woke = 1;
			}
			if (woke)
				mfd_kick(ctx);
		}
		if (rc < 0) {
			mf_warn("event=notify-listen-lost msg=\"revocations are picked up by the "
			    "250 ms poll until the connection is back\"");
			mf_sql_close(h);
			h = NULL;
			retry_at = (int64_t)time(NULL) + 1;
		}
	}
	mf_sql_close(h);
	free(target);
	return NULL;
}

/* ---- metrics ------------------------------------------------------------------- */

void
mfd_metrics_req(struct mfd_ctx *ctx, enum mfd_endpoint ep, int code)
{
	size_t i;

	if ((unsigned)ep >= MFD_EP_COUNT_)
		ep = MFD_EP_OTHER;
	for (i = 0; i < MFD_NCODES; i++)
		if (mfd_codes[i] == code) {
			atomic_fetch_add_explicit(&ctx->m.req[ep][i], 1, memory_order_relaxed);
			return;
		}
}

struct mfd_buf {
	char *p;
	size_t n, cap;
	int err;
};

static void __attribute__((format(printf, 2, 3)))
mfd_bprintf(struct mfd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	for (;;) {
		if (b->err)
			return;
		va_start(ap, fmt);
		w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return;
		}
		{
			size_t nc = (b->cap + (size_t)w) * 2;
			char *np = realloc(b->p, nc);

			if (np == NULL) {
				b->err = 1;
				return;
			}
			b->p = np;
			b->cap = nc;
		}
	}
}

static void
mfd_metrics_guard(const char *name, uint64_t timed_out, uint64_t evicted, void *arg)
{
	struct mfd_buf *b = arg;

	mfd_bprintf(b, "mayflyd_connections_cut_total{listener=\"%s\",reason=\"request-timeout\"} "
	    "%llu\nmayflyd_connections_cut_total{listener=\"%s\",reason=\"evicted\"} %llu\n",
	    name, (unsigned long long)timed_out, name, (unsigned long long)evicted);
}

char *
mfd_metrics_text(struct mfd_ctx *ctx, size_t *len)
{
	static const char *const kinds[MFD_OK_N_] = {
		"good", "revoked", "unknown", "malformedRequest", "unauthorized", "tryLater"
	};
	struct mfd_buf b = { NULL, 0, 0, 0 };
	unsigned long cum = 0;
	size_t i, j, count;
	int64_t oldest, now = (int64_t)time(NULL);

	if ((b.p = malloc(4096)) == NULL)
		return NULL;
	b.cap = 4096;
	mfd_bprintf(&b, "# HELP mayflyd_http_requests_total HTTP requests by endpoint and status.\n"
	    "# TYPE mayflyd_http_requests_total counter\n");
	for (i = 0; i < MFD_EP_COUNT_; i++)
		for (j = 0; j < MFD_NCODES; j++) {
			unsigned long v = atomic_load(&ctx->m.req[i][j]);

			if (v != 0)
				mfd_bprintf(&b, "mayflyd_http_requests_total{endpoint=\"%s\",code=\"%d\"} %lu\n",
				    mfd_endpoint_name((enum mfd_endpoint)i), mfd_codes[j], v);
		}
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_responses_total OCSP answers by certificate or response status.\n"
	    "# TYPE mayflyd_ocsp_responses_total counter\n");
	for (i = 0; i < MFD_OK_N_; i++)
		mfd_bprintf(&b, "mayflyd_ocsp_responses_total{status=\"%s\"} %lu\n", kinds[i],
		    atomic_load(&ctx->m.ocsp[i]));
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_sign_seconds Time to have one OCSP response signed.\n"
	    "# TYPE mayflyd_ocsp_sign_seconds histogram\n");
	for (i = 0; i < MFD_NBUCKETS; i++) {
		cum += atomic_load(&ctx->m.sign_bucket[i]);
		mfd_bprintf(&b, "mayflyd_ocsp_sign_seconds_bucket{le=\"%g\"} %lu\n", mfd_buckets[i], cum);
	}
	cum += atomic_load(&ctx->m.sign_bucket[MFD_NBUCKETS]);
	mfd_bprintf(&b, "mayflyd_ocsp_sign_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	mfd_bprintf(&b, "mayflyd_ocsp_sign_seconds_sum %.6f\n",
	    (double)atomic_load(&ctx->m.sign_sum_us) / 1e6);
	mfd_bprintf(&b, "mayflyd_ocsp_sign_seconds_count %lu\n", atomic_load(&ctx->m.sign_count));
	mfd_bprintf(&b, "# HELP mayflyd_revocation_notifications_total Revocations another "
	    "process announced through PostgreSQL NOTIFY, each waking the refresher at once.\n"
	    "# TYPE mayflyd_revocation_notifications_total counter\n"
	    "mayflyd_revocation_notifications_total %lu\n", atomic_load(&ctx->m.notified));
	mfd_bprintf(&b, "# HELP mayflyd_certs_revoked_total Revocations seen by this daemon.\n"
	    "# TYPE mayflyd_certs_revoked_total counter\nmayflyd_certs_revoked_total %lu\n",
	    atomic_load(&ctx->m.revoked));
	mfd_bprintf(&b, "# HELP mayflyd_revocation_visible_seconds From a revocation becoming "
	    "known (admin-api: the request; poll: the last look at the log that did not find it) to its "
	    "revoked OCSP response being served.\n"
	    "# TYPE mayflyd_revocation_visible_seconds histogram\n");
	for (j = 0; j < 2; j++) {
		const char *src = j == MFD_REV_ADMIN ? "admin-api" : "poll";

		cum = 0;
		for (i = 0; i < MFD_REVVIS_NBUCKETS; i++) {
			cum += atomic_load(&ctx->m.revvis_bucket[j][i]);
			mfd_bprintf(&b, "mayflyd_revocation_visible_seconds_bucket{source=\"%s\","
			    "le=\"%g\"} %lu\n", src, mfd_revvis_buckets[i], cum);
		}
		cum += atomic_load(&ctx->m.revvis_bucket[j][MFD_REVVIS_NBUCKETS]);
		mfd_bprintf(&b, "mayflyd_revocation_visible_seconds_bucket{source=\"%s\",le=\"+Inf\"} "
		    "%lu\n", src, cum);
		mfd_bprintf(&b, "mayflyd_revocation_visible_seconds_sum{source=\"%s\"} %.6f\n", src,
		    (double)atomic_load(&ctx->m.revvis_sum_us[j]) / 1e6);
		mfd_bprintf(&b, "mayflyd_revocation_visible_seconds_count{source=\"%s\"} %lu\n", src,
		    atomic_load(&ctx->m.revvis_count[j]));
	}
	mfd_bprintf(&b, "# HELP mayflyd_revocation_visible_seconds_max The longest such delay "
	    "since the start.\n# TYPE mayflyd_revocation_visible_seconds_max gauge\n");
	for (j = 0; j < 2; j++)
		mfd_bprintf(&b, "mayflyd_revocation_visible_seconds_max{source=\"%s\"} %.6f\n",
		    j == MFD_REV_ADMIN ? "admin-api" : "poll",
		    (double)atomic_load(&ctx->m.revvis_max_us[j]) / 1e6);
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_cache_hits_total Requests answered from the cache.\n"
	    "# TYPE mayflyd_ocsp_cache_hits_total counter\nmayflyd_ocsp_cache_hits_total %lu\n"
	    "mayflyd_ocsp_cache_misses_total %lu\n", atomic_load(&ctx->m.cache_hits),
	    atomic_load(&ctx->m.cache_misses));
	mfd_cache_stats(ctx->cache, &count, &oldest);
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_cache_responses Pre-signed responses held.\n"
	    "# TYPE mayflyd_ocsp_cache_responses gauge\nmayflyd_ocsp_cache_responses %zu\n", count);
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_cache_oldest_age_seconds Age of the oldest held response.\n"
	    "# TYPE mayflyd_ocsp_cache_oldest_age_seconds gauge\n"
	    "mayflyd_ocsp_cache_oldest_age_seconds %lld\n",
	    (long long)(count > 0 ? now - oldest : 0));
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_cache_bytes Bytes of the responses held.\n"
	    "# TYPE mayflyd_ocsp_cache_bytes gauge\nmayflyd_ocsp_cache_bytes %zu\n",
	    mfd_cache_bytes(ctx->cache));
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_cache_expired_total Responses dropped from the cache "
	    "because their certificate expired.\n"
	    "# TYPE mayflyd_ocsp_cache_expired_total counter\nmayflyd_ocsp_cache_expired_total %lu\n"
	    "# HELP mayflyd_ocsp_cache_trims_total Times freed memory was handed back to the system "
	    "after such drops.\n"
	    "# TYPE mayflyd_ocsp_cache_trims_total counter\nmayflyd_ocsp_cache_trims_total %lu\n",
	    atomic_load(&ctx->m.cache_expired), atomic_load(&ctx->m.cache_trims));
	mfd_bprintf(&b, "# HELP mayflyd_prune_enabled Whether daemon.retention prunes the log.\n"
	    "# TYPE mayflyd_prune_enabled gauge\nmayflyd_prune_enabled %d\n"
	    "# HELP mayflyd_prune_runs_total Runs of the retention task.\n"
	    "# TYPE mayflyd_prune_runs_total counter\nmayflyd_prune_runs_total %lu\n"
	    "# HELP mayflyd_prune_rows_total Certificates whose DER the retention task dropped.\n"
	    "# TYPE mayflyd_prune_rows_total counter\nmayflyd_prune_rows_total %lu\n"
	    "# HELP mayflyd_prune_batches_total Prune transactions committed, one audit row each.\n"
	    "# TYPE mayflyd_prune_batches_total counter\nmayflyd_prune_batches_total %lu\n"
	    "# HELP mayflyd_prune_errors_total Runs of the retention task that failed.\n"
	    "# TYPE mayflyd_prune_errors_total counter\nmayflyd_prune_errors_total %lu\n"
	    "# HELP mayflyd_prune_batch_hold_seconds_sum Time prune transactions held the "
	    "database's write lock.\n"
	    "# TYPE mayflyd_prune_batch_hold_seconds_sum counter\n"
	    "mayflyd_prune_batch_hold_seconds_sum %.6f\n"
	    "# HELP mayflyd_prune_batch_hold_seconds_max The longest one prune transaction held it.\n"
	    "# TYPE mayflyd_prune_batch_hold_seconds_max gauge\n"
	    "mayflyd_prune_batch_hold_seconds_max %.6f\n"
	    "# HELP mayflyd_prune_last_success_timestamp_seconds When the last run that finished "
	    "began (0: none yet).\n"
	    "# TYPE mayflyd_prune_last_success_timestamp_seconds gauge\n"
	    "mayflyd_prune_last_success_timestamp_seconds %lld\n",
	    atomic_load(&ctx->m.prune_enabled), atomic_load(&ctx->m.prune_runs),
	    atomic_load(&ctx->m.prune_rows), atomic_load(&ctx->m.prune_batches),
	    atomic_load(&ctx->m.prune_errors),
	    (double)atomic_load(&ctx->m.prune_hold_sum_us) / 1e6,
	    (double)atomic_load(&ctx->m.prune_hold_max_us) / 1e6,
	    (long long)atomic_load(&ctx->m.prune_last_ok));
	mfd_bprintf(&b, "# HELP mayflyd_ocsp_presigned_total First OCSP responses signed with their certificate.\n"
	    "# TYPE mayflyd_ocsp_presigned_total counter\nmayflyd_ocsp_presigned_total %lu\n",
	    atomic_load(&ctx->m.presigned));
	{
		unsigned long nq, nb, ni, max;

		mfd_signer_batch_stats(ctx->signer, &nq, &nb, &ni, &max);
		mfd_bprintf(&b, "# HELP mayflyd_issue_queued Issuance requests waiting for a batch.\n"
		    "# TYPE mayflyd_issue_queued gauge\nmayflyd_issue_queued %lu\n", nq);
		mfd_bprintf(&b, "# HELP mayflyd_issue_batches_total Issuance batches sent to the signer (one commit each).\n"
		    "# TYPE mayflyd_issue_batches_total counter\nmayflyd_issue_batches_total %lu\n"
		    "# HELP mayflyd_issue_batch_requests_total Issuance requests sent in those batches.\n"
		    "# TYPE mayflyd_issue_batch_requests_total counter\n"
		    "mayflyd_issue_batch_requests_total %lu\n"
		    "# HELP mayflyd_issue_batch_max Requests in the largest batch so far.\n"
		    "# TYPE mayflyd_issue_batch_max gauge\nmayflyd_issue_batch_max %lu\n", nb, ni, max);
	}
	{
		int hrc;

		/*
		 * The last health check's answer (the main loop makes one every
		 * second), not a new one, and without health_lock: a check waits
		 * behind a batch in flight, and a slow batch must not hold up
		 * /metrics.
		 */
		hrc = atomic_load(&ctx->health_last);

		mfd_bprintf(&b, "# HELP mayflyd_database_writable Whether the database takes writes "
		    "(0: disk full or read-only; issuance answers 503).\n"
		    "# TYPE mayflyd_database_writable gauge\nmayflyd_database_writable %d\n"
		    "# HELP mayflyd_database_full Whether the database's disk is full.\n"
		    "# TYPE mayflyd_database_full gauge\nmayflyd_database_full %d\n"
		    "# HELP mayflyd_database_readonly Whether the database is read-only.\n"
		    "# TYPE mayflyd_database_readonly gauge\nmayflyd_database_readonly %d\n",
		    hrc != MF_ERR_DB_FULL && hrc != MF_ERR_DB_READONLY, hrc == MF_ERR_DB_FULL,
		    hrc == MF_ERR_DB_READONLY);
	}
	mfd_bprintf(&b, "# HELP mayflyd_signer_up Whether the signer process answers.\n"
	    "# TYPE mayflyd_signer_up gauge\nmayflyd_signer_up %d\n",
	    mfd_signer_dead(ctx->signer) ? 0 : 1);
	mfd_bprintf(&b, "# HELP mayflyd_connections_cut_total Connections a listener closed: "
	    "requests past request-timeout, idle ones evicted near the connection limit.\n"
	    "# TYPE mayflyd_connections_cut_total counter\n");
	mf_hguard_each(mfd_metrics_guard, &b);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}
