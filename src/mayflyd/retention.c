/*
 * retention.c: mayflyd's own pruning of the issuance log (daemon.retention
 * in mayfly.yaml(5), RETENTION in mayflyd(8)).
 *
 * One thread with a database connection of its own, opened at start
 * before root is dropped, so that the refresher's revocation poll and the
 * admin API never wait behind a prune. Every prune-interval it drops the
 * DER of certificates expired for longer than prune-expired-after, at most
 * prune-batch rows per transaction, each transaction with its "prune"
 * audit row (mf_db_prune_batch). Issuance needs the same write lock: after
 * each batch the thread sleeps at least as long as that batch held the
 * lock, so while a backlog is worked off issuance still gets the lock at
 * least half of the time, and never waits longer than one batch.
 *
 * It never archives: an archive is a file the operator must keep and back
 * up, which is `mayfly db prune --archive`'s job, run by hand or by a timer.
 */
#include "mf_build.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "db.h"
#include "mferr.h"
#include "util.h"

#define MFD_PRUNE_ACTOR		"mayflyd:retention"
/* The shortest pause between two batches of one run, in microseconds. */
#define MFD_PRUNE_PAUSE_MIN_US	20000
/* The first run waits this long at most after start (seconds). */
#define MFD_PRUNE_FIRST_MAX	60

/*
 * Sleeps us microseconds or until the daemon stops (mfd_retention_wake).
 * Returns non-zero if it stops.
 */
static int
mfd_ret_sleep(struct mfd_ctx *ctx, int64_t us)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ctx->ret_lock);
	while (!(stop = atomic_load(&ctx->stop)) &&
	    pthread_cond_timedwait(&ctx->ret_cond, &ctx->ret_lock, &ts) != ETIMEDOUT)
		;
	stop = stop || atomic_load(&ctx->stop);
	pthread_mutex_unlock(&ctx->ret_lock);
	return stop;
}

void
mfd_retention_wake(struct mfd_ctx *ctx)
{
	pthread_mutex_lock(&ctx->ret_lock);
	pthread_cond_broadcast(&ctx->ret_cond);
	pthread_mutex_unlock(&ctx->ret_lock);
}

static void
mfd_ret_hold(struct mfd_metrics *m, int64_t hold_us)
{
	unsigned long long h = hold_us > 0 ? (unsigned long long)hold_us : 0;

	atomic_fetch_add(&m->prune_hold_sum_us, h);
	/* This thread is the only writer: no compare-and-swap needed. */
	if (h > atomic_load(&m->prune_hold_max_us))
		atomic_store(&m->prune_hold_max_us, h);
}

/* One run: batches until nothing is left that expired before the cutoff. */
static void
mfd_ret_run(struct mfd_ctx *ctx, int64_t after, size_t batch)
{
	struct mfd_metrics *m = &ctx->m;
	int64_t now = (int64_t)time(NULL), cutoff = now - after, t0 = mf_mono_us();
	int64_t rows = 0, hold = 0, max_hold = 0;
	size_t n = 0, batches = 0;
	int rc = 0;

	atomic_fetch_add(&m->prune_runs, 1);
	while (!atomic_load(&ctx->stop)) {
		rc = mf_db_prune_batch(ctx->prune_db, cutoff, batch, now, MFD_PRUNE_ACTOR, &n,
		    &hold);
		if (hold > 0)
			mfd_ret_hold(m, hold);
		if (hold > max_hold)
			max_hold = hold;
		if (rc != 0 || n == 0)
			break;
		rows += (int64_t)n;
		batches++;
		atomic_fetch_add(&m->prune_rows, n);
		atomic_fetch_add(&m->prune_batches, 1);
		if (n < batch)
			break;
		if (mfd_ret_sleep(ctx, hold > MFD_PRUNE_PAUSE_MIN_US ? hold : MFD_PRUNE_PAUSE_MIN_US))
			break;
	}
	if (rc != 0) {
		atomic_fetch_add(&m->prune_errors, 1);
		mf_err("event=prune-failed actor=%s rows=%lld batches=%zu err=%s why=\"%s\"",
		    MFD_PRUNE_ACTOR, (long long)rows, batches, mf_errname(rc),
		    mf_db_errmsg(ctx->prune_db));
		return;
	}
	atomic_store(&m->prune_last_ok, (long long)now);
	mf_info("event=prune actor=%s rows=%lld batches=%zu expired_before=%lld max_hold_ms=%.1f "
	    "ms=%lld", MFD_PRUNE_ACTOR, (long long)rows, batches, (long long)cutoff,
	    (double)max_hold / 1000.0, (long long)((mf_mono_us() - t0) / 1000));
}

void *
mfd_retention(void *arg)
{
	struct mfd_ctx *ctx = arg;
	int64_t interval, after;
	size_t batch;
	int enabled, said_off = 0;

	pthread_rwlock_rdlock(&ctx->lock);
	interval = ctx->pub->cfg->prune_interval;
	pthread_rwlock_unlock(&ctx->lock);
	/* Let start-up and the first pre-sign pass go first. */
	if (mfd_ret_sleep(ctx, (interval < MFD_PRUNE_FIRST_MAX ? interval :
	    MFD_PRUNE_FIRST_MAX) * 1000000))
		return NULL;
	while (!atomic_load(&ctx->stop)) {
		/* A reload changes these; the next run uses the new values. */
		pthread_rwlock_rdlock(&ctx->lock);
		enabled = ctx->pub->cfg->retention;
		interval = ctx->pub->cfg->prune_interval;
		after = ctx->pub->cfg->prune_expired_after;
		batch = ctx->pub->cfg->prune_batch;
		pthread_rwlock_unlock(&ctx->lock);
		atomic_store(&ctx->m.prune_enabled, enabled);
		if (enabled) {
			said_off = 0;
			mfd_ret_run(ctx, after, batch);
		} else if (!said_off) {
			mf_info("event=prune-off msg=\"daemon.retention was removed by a reload\"");
			said_off = 1;
		}
		if (mfd_ret_sleep(ctx, interval * 1000000))
			break;
	}
	return NULL;
}
