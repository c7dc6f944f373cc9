/*
 * daemon.h: the state of the network process of mayflyd, shared by the
 * HTTP handlers (http.c), the refresher thread (refresh.c) and main
 * (mayflyd.c). One struct mfd_ctx per process, passed explicitly.
 *
 * Locking: ctx->lock (rwlock) guards the published objects that a reload
 * replaces: cfg, issuers, CA files and CRLs. The OCSP cache has its own
 * lock. The database connection is used by the refresher and the admin
 * handler under ctx->db_lock. Counters are atomics.
 */
#ifndef MFD_DAEMON_H
#define MFD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "cache.h"
#include "config.h"
#include "db.h"
#include "ocspreq.h"
#include "route.h"
#include "signer.h"

/*
 * A response is signed again once this much of its validity has passed:
 * 40 %, so that the new one is in place well before half its life is gone
 * even with thousands queued ahead of it.
 */
#define MFD_RESIGN_AFTER(validity)	((validity) * 2 / 5)

/* HTTP status codes counted in metrics. */
#define MFD_NCODES	12
extern const int mfd_codes[MFD_NCODES];

/* Buckets of the signing latency histogram, in seconds. */
#define MFD_NBUCKETS	11
extern const double mfd_buckets[MFD_NBUCKETS];

enum mfd_ocsp_kind {
	MFD_OK_GOOD = 0, MFD_OK_REVOKED, MFD_OK_UNKNOWN, MFD_OK_MALFORMED,
	MFD_OK_UNAUTHORIZED, MFD_OK_TRYLATER, MFD_OK_N_
};

#define MFD_REVVIS_NBUCKETS	8
#define MFD_REV_ADMIN	0
#define MFD_REV_POLL	1
#define MFD_REVNOTE_MAX	64

struct mfd_metrics {
	atomic_ulong req[MFD_EP_COUNT_][MFD_NCODES];
	atomic_ulong ocsp[MFD_OK_N_];
	atomic_ulong sign_bucket[MFD_NBUCKETS + 1];
	atomic_ulong sign_count;
	atomic_ullong sign_sum_us;
	atomic_ulong revoked;
	atomic_ulong notified;		/* NOTIFY mayfly_revocation received (PostgreSQL) */
	atomic_ulong cache_hits, cache_misses;
	atomic_ulong presigned;		/* first responses that came with their certificate */
	atomic_ulong cache_expired;	/* responses dropped as their certificate expired */
	atomic_ulong cache_trims;	/* malloc_trim calls after such drops */
	/* The retention task (retention.c), its only writer. */
	atomic_int prune_enabled;
	atomic_ulong prune_runs, prune_rows, prune_batches, prune_errors;
	atomic_ullong prune_hold_sum_us, prune_hold_max_us;
	atomic_llong prune_last_ok;	/* unix time of the last run that finished */
	/*
	 * From a revocation to its revoked response in the cache, per source
	 * (MFD_REV_ADMIN, MFD_REV_POLL: found in the log by polling): histogram, sum and largest, in us.
	 * Written by the refresher only.
	 */
	atomic_ulong revvis_bucket[2][MFD_REVVIS_NBUCKETS + 1];
	atomic_ulong revvis_count[2];
	atomic_ullong revvis_sum_us[2];
	atomic_ullong revvis_max_us[2];
};

/* An admin-API revocation the refresher has not picked up yet (under db_lock). */
struct mfd_revnote {
	char serial[41];		/* as the request named it; "" when free */
	int64_t us;			/* mf_mono_us() when the request arrived */
};

struct mfd_issuer {
	char *name;
	X509 *cert;
};

struct mfd_cafile {
	char name[MFD_NAME_MAX + 1];
	struct mfd_blob *pem, *der, *p7c;	/* der NULL for chains */
};

/* What a reload replaces, published as a whole. */
struct mfd_pub {
	struct mf_config *cfg;
	struct mfd_issuer *iss;
	struct mfd_issuer_id *ids;	/* CertID hashes of iss[i] */
	size_t niss;
	struct mfd_cafile *ca;
	size_t nca;
	struct mfd_blob **rootcrl;	/* per root: its offline CRL (crl/ROOT.crl), or NULL */
	unsigned char token_sha256[32];	/* of the admin token */
	int have_token;
};

struct mfd_ctx {
	pthread_rwlock_t lock;
	struct mfd_pub *pub;
	struct mfd_blob **crl;		/* per issuer of pub, NULL until built */
	size_t ncrl;

	struct mfd_signer *signer;
	struct mfd_cache *cache;

	pthread_mutex_t db_lock;
	struct mf_db *db;
	struct mfd_revnote revnote[MFD_REVNOTE_MAX];	/* a ring, under db_lock */
	unsigned revnote_next;
	struct mfd_trust *trust;	/* published trust bundles (trust.c) */

	/*
	 * The retention task's own connection (retention.c), opened at start
	 * when daemon.retention is set, else NULL; used by that thread only.
	 * It sleeps on ret_cond; mfd_retention_wake wakes it to stop.
	 */
	struct mf_db *prune_db;
	pthread_mutex_t ret_lock;
	pthread_cond_t ret_cond;

	/* The refresher sleeps on kick_cond; revocations and reloads wake it. */
	pthread_mutex_t kick_lock;
	pthread_cond_t kick_cond;
	int kick;
	atomic_int stop;
	int flush;			/* reload: drop the cache and pre-sign again */
	atomic_int presigned;			/* the first pre-sign pass finished */

	pthread_mutex_t health_lock;
	int64_t health_at;
	int health_rc;
	char health_why[256];
	atomic_int health_last;		/* health_rc, readable without health_lock */

	struct mfd_metrics m;
};

/* ---- pub.c: the published configuration ------------------------------- */

/* Loads issuers, CA files and the admin token for cfg (taken over). */
int mfd_pub_new(struct mf_config *cfg, struct mfd_pub **out, char *why, size_t whylen);
void mfd_pub_free(struct mfd_pub *p);

/* ---- refresh.c ------------------------------------------------------------- */

/* Runs the refresher until ctx->stop; arg is the ctx. */
void *mfd_refresher(void *arg);
void mfd_kick(struct mfd_ctx *ctx);
/*
 * Notes that the admin API revoked serial at us (mf_mono_us()), so the
 * refresher can measure from then; call under ctx->db_lock, right after the
 * revocation committed. The oldest note is forgotten when the ring is full.
 */
void mfd_revnote_add(struct mfd_ctx *ctx, const char *serial, int64_t us);
/* Writes changed responses to ocsp_export_dir until ctx->stop; arg is the ctx. */
void *mfd_exporter(void *arg);
/*
 * With the log on PostgreSQL: LISTENs for the revocations any node or the
 * CLI commits (NOTIFY mayfly_revocation, sent in the same transaction)
 * and wakes the refresher at once, instead of at its next 250 ms poll.
 * Reconnects by itself; returns when ctx->stop is set.
 */
void *mfd_notifier(void *arg);

/*
 * Signs (through the signer) and caches the response for key. Used by the
 * refresher and by the HTTP handlers on a cache miss. Returns a new
 * reference in *out when out is not NULL.
 */
int mfd_ocsp_refresh(struct mfd_ctx *ctx, const struct mfd_cache_key *key,
    struct mfd_blob **out);

/*
 * Caches the first OCSP response that the signer made along with a new
 * certificate (takes over r->ocsp), so the first request for it is a hit;
 * the exporter persists it like any other. MF_ERR_INVAL if r has none,
 * MF_ERR_EXISTS if a response for it is cached already (that one stays).
 */
int mfd_ocsp_presigned(struct mfd_ctx *ctx, struct mfd_sig_issued *r);

/* Prometheus text of the counters; caller frees. */
char *mfd_metrics_text(struct mfd_ctx *ctx, size_t *len);
void mfd_metrics_req(struct mfd_ctx *ctx, enum mfd_endpoint ep, int code);

/* ---- retention.c: pruning of the log (daemon.retention) ---------------------- */

/* Prunes every prune-interval until ctx->stop; arg is the ctx. Needs ctx->prune_db. */
void *mfd_retention(void *arg);
/* Wakes the retention thread (after setting ctx->stop). */
void mfd_retention_wake(struct mfd_ctx *ctx);

/* ---- persist.c: responses kept in the database across restarts ------------- */

/* Loads stored responses still valid for a while into the cache; returns the count. */
size_t mfd_persist_load(struct mfd_ctx *ctx, int64_t now);
/* Stores responses signed since the last call, and deletes stale rows. */
void mfd_persist_save(struct mfd_ctx *ctx, int64_t now);

/* ---- http.c ---------------------------------------------------------------- */

struct mfd_http;
int mfd_http_start(struct mfd_ctx *ctx, const int *fds, size_t nfds, struct mfd_http **out);
/* Stops accepting, waits up to drain_ms for open requests, stops. */
void mfd_http_stop(struct mfd_http *h, int drain_ms);

/* Health: 0 and "ok", or a code and the reason (cached for a second). */
int mfd_health(struct mfd_ctx *ctx, char *why, size_t whylen);

#endif
