/*
 * persist.c: keeps the pre-signed OCSP responses in the database (table
 * ocsp_responses, sql/100-ocsp.sql) so that a restart serves them at once
 * instead of signing every response again.
 *
 * Saving runs in the export thread, in transactions of a bounded number of
 * rows so that the revocation poll, which shares the connection, never waits
 * long. Loading runs once in the refresher before the first pre-sign pass,
 * and takes only rows whose status the log still confirms (see
 * mfd_persist_load); that pass then re-signs what is missing or getting
 * stale.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include "store/sql.h"

#include "daemon.h"
#include "mferr.h"
#include "util.h"

#define MFD_PERSIST_BATCH	2000

static int
mfd_issuer_idx(struct mfd_ctx *ctx, const char *name)
{
	size_t i;
	int idx = -1;

	pthread_rwlock_rdlock(&ctx->lock);
	for (i = 0; i < ctx->pub->niss; i++)
		if (strcmp(ctx->pub->iss[i].name, name) == 0)
			idx = (int)i;
	pthread_rwlock_unlock(&ctx->lock);
	return idx;
}

size_t
mfd_persist_load(struct mfd_ctx *ctx, int64_t now)
{
	/*
	 * A stored response is a copy, never the truth: it is loaded only if
	 * the log still says what it says, for the same issuer (good: logged
	 * and not revoked; revoked: a revocation row). A revocation made while
	 * we were down (`mayfly revoke`, another node) thus leaves its stored
	 * "good" behind, for every CertID hash alike, and the first request
	 * signs afresh from the log. The log may keep the DER form of a
	 * serial with its leading zero octet; we store magnitudes.
	 */
	static const char sql[] = "SELECT o.issuer, o.alg, o.serial, o.status, o.this_update,"
	    " o.next_update, o.not_after, o.der FROM ocsp_responses o"
	    " JOIN certificates c ON (c.serial = o.serial OR c.serial = '00' || o.serial)"
	    "  AND c.issuer = o.issuer"
	    " LEFT JOIN revocations r ON r.serial = c.serial"
	    " WHERE o.next_update > ?1 AND o.not_after > ?2"
	    "  AND ((o.status = 0 AND r.id IS NULL) OR (o.status = 1 AND r.id IS NOT NULL))";
	mf_sql_stmt *st = NULL;
	size_t n = 0;
	int64_t validity;

	pthread_rwlock_rdlock(&ctx->lock);
	validity = ctx->pub->cfg->ocsp_validity;
	pthread_rwlock_unlock(&ctx->lock);
	pthread_mutex_lock(&ctx->db_lock);
	if (mf_sql_prepare(mf_db_handle(ctx->db), sql, 0, &st) != MF_SQL_OK)
		goto out;
	/* Only responses that would not be signed again at once are worth loading. */
	mf_sql_bind_int64(st, 1, now + validity - MFD_RESIGN_AFTER(validity));
	mf_sql_bind_int64(st, 2, now);
	while (mf_sql_step(st) == MF_SQL_ROW) {
		const char *issuer = (const char *)mf_sql_column_text(st, 0);
		const char *hex = (const char *)mf_sql_column_text(st, 2);
		const void *der = mf_sql_column_blob(st, 7);
		int dlen = mf_sql_column_bytes(st, 7), alg = mf_sql_column_int(st, 1), idx;
		unsigned char serial[20], *copy;
		struct mfd_cache_key k;
		struct mfd_blob *b;
		size_t slen;

		if (issuer == NULL || hex == NULL || der == NULL || dlen <= 0 ||
		    (alg != MFD_ALG_SHA1 && alg != MFD_ALG_SHA256) ||
		    (idx = mfd_issuer_idx(ctx, issuer)) < 0 ||
		    mf_unhex(hex, serial, sizeof(serial), &slen) != 0 || slen == 0)
			continue;
		if ((copy = malloc((size_t)dlen)) == NULL)
			break;
		memcpy(copy, der, (size_t)dlen);
		if ((b = mfd_blob_new(copy, (size_t)dlen, "application/ocsp-response",
		    mf_sql_column_int64(st, 4), mf_sql_column_int64(st, 5))) == NULL)
			break;
		b->cert_status = mf_sql_column_int(st, 3);
		b->not_after = mf_sql_column_int64(st, 6);
		atomic_store(&b->persisted, 1);
		mfd_cache_key_set(&k, (unsigned)idx, alg, serial, slen);
		if (mfd_cache_put(ctx->cache, &k, b) == 0)
			n++;
	}
out:
	mf_sql_finalize(st);
	pthread_mutex_unlock(&ctx->db_lock);
	return n;
}

/* Not yet stored; an expired certificate's response is not worth storing. */
static int
mfd_pick_unsaved(const struct mfd_cache_key *k, const struct mfd_blob *b, void *arg)
{
	int64_t now = *(const int64_t *)arg;

	return b->cert_status != V_OCSP_CERTSTATUS_UNKNOWN && !atomic_load(&b->persisted) &&
	    (b->not_after == 0 || b->not_after >= now);
}

void
mfd_persist_save(struct mfd_ctx *ctx, int64_t now)
{
	static const char ins[] = "INSERT INTO ocsp_responses (issuer, alg, serial,"
	    " status, this_update, next_update, not_after, der) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"
	    " ON CONFLICT (issuer, alg, serial) DO UPDATE SET status = excluded.status,"
	    " this_update = excluded.this_update, next_update = excluded.next_update,"
	    " not_after = excluded.not_after, der = excluded.der";
	static const char del[] = "DELETE FROM ocsp_responses WHERE next_update < ?1";
	struct mfd_cache_key *keys = NULL;
	mf_sql_stmt *st = NULL;
	struct mf_sql *h;
	size_t n = 0, i = 0, saved = 0;
	int64_t t0;

	if (mfd_cache_select(ctx->cache, mfd_pick_unsaved, &now, &keys, &n) != 0)
		return;
	/*
	 * Serials are random, so rows written in the cache's order land all
	 * over the table's B-tree and every batch rewrites most of its leaf
	 * pages; in the table's key order each batch fills the pages of its
	 * own stretch of keys.
	 */
	qsort(keys, n, sizeof(*keys), mfd_cache_key_cmp);
	t0 = mf_mono_us();
	while (i < n && !ctx->stop) {
		size_t end = i + MFD_PERSIST_BATCH < n ? i + MFD_PERSIST_BATCH : n, written = 0;

		pthread_mutex_lock(&ctx->db_lock);
		h = mf_db_handle(ctx->db);
		if (mf_sql_begin(h, 1) != MF_SQL_OK ||
		    mf_sql_prepare(h, ins, 0, &st) != MF_SQL_OK) {
			mf_warn("event=ocsp-persist-failed why=\"%s\"", mf_sql_errmsg(h));
			if (mf_sql_in_tx(h))
				mf_sql_rollback(h);
			pthread_mutex_unlock(&ctx->db_lock);
			break;
		}
		for (; i < end; i++) {
			struct mfd_blob *b = mfd_cache_get(ctx->cache, &keys[i]);
			char hex[41], name[MFD_NAME_MAX + 1] = "";

			if (b == NULL)
				continue;
			pthread_rwlock_rdlock(&ctx->lock);
			if (keys[i].issuer < ctx->pub->niss)
				snprintf(name, sizeof(name), "%s", ctx->pub->iss[keys[i].issuer].name);
			pthread_rwlock_unlock(&ctx->lock);
			mf_hex(keys[i].serial, keys[i].serial_len, hex);
			mf_sql_reset(st);
			mf_sql_bind_text(st, 1, name, -1, MF_SQL_TRANSIENT);
			mf_sql_bind_int(st, 2, keys[i].alg);
			mf_sql_bind_text(st, 3, hex, -1, MF_SQL_TRANSIENT);
			mf_sql_bind_int(st, 4, b->cert_status);
			mf_sql_bind_int64(st, 5, b->this_update);
			mf_sql_bind_int64(st, 6, b->next_update);
			mf_sql_bind_int64(st, 7, b->not_after);
			mf_sql_bind_blob(st, 8, b->data, (int)b->len, MF_SQL_STATIC);
			if (name[0] != '\0' && mf_sql_step(st) == MF_SQL_DONE) {
				atomic_store(&b->persisted, 1);
				written++;
			}
			mfd_blob_unref(b);
		}
		mf_sql_finalize(st);
		st = NULL;
		if (mf_sql_exec(h, "COMMIT") != MF_SQL_OK) {
			mf_warn("event=ocsp-persist-failed why=\"%s\"", mf_sql_errmsg(h));
			mf_sql_exec(h, "ROLLBACK");
		} else {
			saved += written;	/* the log line counts committed rows only */
		}
		pthread_mutex_unlock(&ctx->db_lock);
	}
	free(keys);
	/*
	 * After a start without stored responses, or a refresh pass, the
	 * backlog is large and its writes slow issuance while they last (at
	 * 10^5 certificates: 50,000 rows in 3-5 s): say when it is stored.
	 */
	if (saved >= MFD_PERSIST_BATCH)
		mf_info("event=ocsp-persisted rows=%zu ms=%lld", saved,
		    (long long)((mf_mono_us() - t0) / 1000));
	/* Responses past nextUpdate are of no use to anyone. */
	pthread_mutex_lock(&ctx->db_lock);
	h = mf_db_handle(ctx->db);
	if (mf_sql_prepare(h, del, 0, &st) == MF_SQL_OK) {
		mf_sql_bind_int64(st, 1, now);
		mf_sql_step(st);
	}
	mf_sql_finalize(st);
	pthread_mutex_unlock(&ctx->db_lock);
}
