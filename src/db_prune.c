/*
 * db_prune.c: retention of the issuance log, and the check that ties the
 * certificate rows to the audit chain.
 *
 * A fleet renewing daily writes tens of millions of certificates a year.
 * Long after a certificate has expired nobody needs its DER, but an auditor
 * still needs to know it existed: who asked, for which names, when, under
 * which issuer, and which bytes were signed. mf_db_prune empties the der
 * column of such rows and keeps its SHA-256 in der_sha256; everything else
 * stays. The audit chain's "issue" row for the certificate already carries
 * the same hash (db.c), so the chain keeps vouching for a pruned row, and
 * an archive of the removed DER can be checked against it later.
 *
 * Pruning runs in bounded batches, each its own transaction with its own
 * "prune" audit row, so a running mayflyd keeps issuing between batches
 * and an interrupted prune leaves every batch either done and audited or
 * not done at all.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "store/sql.h"

#include "db.h"
#include "db_int.h"
#include "mferr.h"
#include "util.h"

/* The two reads of retention, also in mayflyd's list of hot queries (db.c). */
const char mf_db_prune_select_sql[] =
    "SELECT id, serial, der FROM certificates INDEXED BY certificates_unpruned"
    " WHERE not_after < ?1 AND pruned_at IS NULL ORDER BY not_after, id LIMIT ?2";
const char mf_db_prune_count_sql[] =
    "SELECT count(*) FROM certificates INDEXED BY certificates_unpruned"
    " WHERE not_after < ?1 AND pruned_at IS NULL";

/* Rows of one batch, read before any is changed. */
struct prune_row {
	int64_t id;
	char serial[2 * MF_SERIAL_MAX + 1];
	unsigned char *der;
	size_t der_len;
};

static void
prune_rows_free(struct prune_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].der);
	free(rows);
}

/*
 * Reads up to batch unpruned rows that expired before cutoff, oldest
 * expiry first, through the partial index of unpruned rows (sql/207): the
 * rows pruned already are not in it, so a batch never steps over them.
 * check_db asserts the plan (mf_db_hot_queries).
 */
static int
prune_select(struct mf_db *db, int64_t cutoff, size_t batch, struct prune_row **out,
    size_t *nout)
{
	const char *sql = mf_db_prune_select_sql;
	struct prune_row *rows = NULL;
	mf_sql_stmt *st = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((rows = calloc(batch, sizeof(*rows))) == NULL)
		return MF_ERR_NOMEM;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_int64(st, 1, cutoff);
	mf_sql_bind_int64(st, 2, (int64_t)batch);
	while ((rc = mf_sql_step(st)) == MF_SQL_ROW && n < batch) {
		const unsigned char *s = mf_sql_column_text(st, 1);
		const void *der = mf_sql_column_blob(st, 2);
		int len = mf_sql_column_bytes(st, 2);

		rows[n].id = mf_sql_column_int64(st, 0);
		snprintf(rows[n].serial, sizeof(rows[n].serial), "%s", s ? (const char *)s : "");
		if (len <= 0 || der == NULL) {
			rc = MF_ERR_DB;	/* an unpruned row without DER: the log was edited */
			goto out;
		}
		if ((rows[n].der = malloc((size_t)len)) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
		memcpy(rows[n].der, der, (size_t)len);
		rows[n].der_len = (size_t)len;
		n++;
	}
	rc = rc == MF_SQL_ROW || rc == MF_SQL_DONE ? MF_OK : mf_db_err(rc);
out:
	mf_sql_finalize(st);
	if (rc != MF_OK) {
		prune_rows_free(rows, n);
		return rc;
	}
	*out = rows;
	*nout = n;
	return MF_OK;
}

/*
 * Empties the DER of each row and audits the batch, in one transaction.
 * *hold_us (if not NULL) gets how long the transaction held the write
 * lock: from the moment BEGIN got it to the end of COMMIT or ROLLBACK.
 */
static int
prune_apply(struct mf_db *db, const struct prune_row *rows, size_t n, int64_t cutoff,
    int64_t now, const char *actor, int64_t *hold_us)
{
	static const char sql[] =
	    "UPDATE certificates SET der = X'', der_sha256 = ?1, pruned_at = ?2"
	    " WHERE id = ?3 AND pruned_at IS NULL";
	unsigned char md[32];
	mf_sql_stmt *st = NULL;
	char *detail = NULL;
	size_t i;
	int64_t t0;
	int rc;

	if ((rc = mf_db_begin(db)) != MF_OK)
		return rc;
	t0 = mf_mono_us();
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (EVP_Digest(rows[i].der, rows[i].der_len, md, NULL, EVP_sha256(), NULL) != 1) {
			rc = MF_ERR_CRYPTO;
			goto out;
		}
		mf_sql_bind_blob(st, 1, md, sizeof(md), MF_SQL_TRANSIENT);
		mf_sql_bind_int64(st, 2, now);
		mf_sql_bind_int64(st, 3, rows[i].id);
		rc = mf_sql_step(st);
		mf_sql_reset(st);
		if (rc != MF_SQL_DONE) {
			rc = mf_db_err(rc);
			goto out;
		}
		if (mf_sql_changes(db->h) != 1) {
			rc = MF_ERR_DB;	/* pruned meanwhile by another run */
			goto out;
		}
	}
	if (asprintf(&detail, "rows=%zu expired_before=%lld first=%s last=%s", n,
	    (long long)cutoff, rows[0].serial, rows[n - 1].serial) < 0) {
		detail = NULL;
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((rc = mf_db_audit_append(db, "prune", actor, detail)) != MF_OK)
		goto out;
	mf_sql_finalize(st);
	st = NULL;
	rc = mf_db_commit(db);
	if (hold_us != NULL)
		*hold_us = mf_mono_us() - t0;
	free(detail);
	return rc;
out:
	mf_sql_finalize(st);
	free(detail);
	mf_db_rollback(db);
	if (hold_us != NULL)
		*hold_us = mf_mono_us() - t0;
	return rc;
}

int
mf_db_prune(struct mf_db *db, int64_t cutoff, size_t batch, int64_t now, const char *actor,
    const struct mf_prune_sink *sink, int64_t *pruned)
{
	struct prune_row *rows = NULL;
	size_t n, i;
	int rc;

	if (pruned != NULL)
		*pruned = 0;
	if (db == NULL || actor == NULL || batch == 0 || batch > MF_PRUNE_BATCH_MAX ||
	    cutoff > now)
		return MF_ERR_INVAL;
	if (db->readonly)
		return MF_ERR_INVAL;
	for (;;) {
		if ((rc = prune_select(db, cutoff, batch, &rows, &n)) != MF_OK)
			return rc;
		if (n == 0)
			break;
		/* The archive holds every row before the log lets go of it. */
		for (i = 0; sink != NULL && sink->each != NULL && i < n; i++)
			if ((rc = sink->each(rows[i].serial, rows[i].der, rows[i].der_len,
			    sink->arg)) != MF_OK)
				goto out;
		if (sink != NULL && sink->flush != NULL && (rc = sink->flush(sink->arg)) != MF_OK)
			goto out;
		if ((rc = prune_apply(db, rows, n, cutoff, now, actor, NULL)) != MF_OK)
			goto out;
		if (pruned != NULL)
			*pruned += (int64_t)n;
		prune_rows_free(rows, n);
		rows = NULL;
	}
	return MF_OK;
out:
	prune_rows_free(rows, n);
	return rc;
}

int
mf_db_prune_batch(struct mf_db *db, int64_t cutoff, size_t batch, int64_t now, const char *actor,
    size_t *pruned, int64_t *hold_us)
{
	struct prune_row *rows = NULL;
	size_t n = 0;
	int rc;

	if (pruned != NULL)
		*pruned = 0;
	if (hold_us != NULL)
		*hold_us = 0;
	if (db == NULL || actor == NULL || batch == 0 || batch > MF_PRUNE_BATCH_MAX ||
	    cutoff > now || db->readonly)
		return MF_ERR_INVAL;
	/* Read outside the transaction: the write lock covers the updates only. */
	if ((rc = prune_select(db, cutoff, batch, &rows, &n)) != MF_OK)
		return rc;
	if (n > 0 && (rc = prune_apply(db, rows, n, cutoff, now, actor, hold_us)) == MF_OK &&
	    pruned != NULL)
		*pruned = n;
	prune_rows_free(rows, n);
	return rc;
}

int
mf_db_prune_count(struct mf_db *db, int64_t cutoff, int64_t *count)
{
	const char *sql = mf_db_prune_count_sql;
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || count == NULL)
		return MF_ERR_INVAL;
	*count = 0;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_int64(st, 1, cutoff);
	if ((rc = mf_sql_step(st)) == MF_SQL_ROW) {
		*count = mf_sql_column_int64(st, 0);
		rc = MF_OK;
	} else
		rc = mf_db_err(rc);
	mf_sql_finalize(st);
	return rc;
}

/* Copies the value of key=VALUE (up to a space) from an audit detail. */
static int
detail_field(const unsigned char *d, size_t len, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key), i = 0, j;

	while (i + kl <= len) {
		if ((i == 0 || d[i - 1] == ' ') && memcmp(d + i, key, kl) == 0) {
			for (j = 0; i + kl + j < len && d[i + kl + j] != ' '; j++)
				if (j + 1 >= outlen)
					return MF_ERR_INVAL;
			memcpy(out, d + i + kl, j);
			out[j] = '\0';
			return MF_OK;
		}
		i++;
	}
	return MF_ERR_NOTFOUND;
}

/*
 * The certificates and the chain's "issue" rows are written together, in
 * the same order (db.c), so the n-th certificate row answers the n-th issue
 * row. Walking both in id order compares them in constant memory.
 */
int
mf_db_certs_verify(struct mf_db *db, int64_t *certs, char *why, size_t whylen)
{
	static const char csql[] =
	    "SELECT id, serial, der, der_sha256, pruned_at, issuer, not_before, not_after"
	    " FROM certificates ORDER BY id";
	static const char asql[] =
	    "SELECT id, detail FROM audit_log WHERE event = 'issue' ORDER BY id";
	mf_sql_stmt *cs = NULL, *as = NULL;
	unsigned char md[32], want[32];
	char serial[2 * MF_SERIAL_MAX + 1], hex[65], field[256], dummy[1];
	int64_t n = 0, cid, aid;
	size_t wl;
	int crc, arc, rc;

	if (certs != NULL)
		*certs = 0;
	if (why == NULL || whylen == 0) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	*why = '\0';
	if (db == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, csql, 0, &cs)) != MF_SQL_OK ||
	    (rc = mf_sql_prepare(db->h, asql, 0, &as)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	for (;;) {
		crc = mf_sql_step(cs);
		arc = mf_sql_step(as);
		if (crc == MF_SQL_DONE && arc == MF_SQL_DONE)
			break;
		if ((crc != MF_SQL_ROW && crc != MF_SQL_DONE) ||
		    (arc != MF_SQL_ROW && arc != MF_SQL_DONE)) {
			rc = mf_db_err(crc != MF_SQL_ROW && crc != MF_SQL_DONE ? crc : arc);
			goto out;
		}
		rc = MF_ERR_AUDIT_CHAIN;
		if (crc == MF_SQL_DONE) {
			snprintf(why, whylen, "audit row %lld records an issuance with no "
			    "certificate row (row deleted)", (long long)mf_sql_column_int64(as, 0));
			goto out;
		}
		cid = mf_sql_column_int64(cs, 0);
		if (arc == MF_SQL_DONE) {
			snprintf(why, whylen, "certificate row %lld has no issue row in the "
			    "audit chain (row inserted)", (long long)cid);
			goto out;
		}
		aid = mf_sql_column_int64(as, 0);
		if (detail_field(mf_sql_column_blob(as, 1), (size_t)mf_sql_column_bytes(as, 1),
		    "serial=", serial, sizeof(serial)) != MF_OK ||
		    detail_field(mf_sql_column_blob(as, 1), (size_t)mf_sql_column_bytes(as, 1),
		    "der_sha256=", hex, sizeof(hex)) != MF_OK ||
		    mf_unhex(hex, want, sizeof(want), &wl) != MF_OK || wl != sizeof(want)) {
			snprintf(why, whylen, "audit row %lld: malformed issue record",
			    (long long)aid);
			goto out;
		}
		if (mf_sql_column_text(cs, 1) == NULL ||
		    strcmp((const char *)mf_sql_column_text(cs, 1), serial) != 0) {
			snprintf(why, whylen, "certificate row %lld is not serial %s of audit row "
			    "%lld (row deleted, inserted or edited)", (long long)cid, serial,
			    (long long)aid);
			goto out;
		}
		/* What the chain recorded of the row besides its bytes. */
		if (detail_field(mf_sql_column_blob(as, 1), (size_t)mf_sql_column_bytes(as, 1),
		    "issuer=", field, sizeof(field)) != MF_OK || mf_sql_column_text(cs, 5) == NULL ||
		    strcmp(field, (const char *)mf_sql_column_text(cs, 5)) != 0 ||
		    detail_field(mf_sql_column_blob(as, 1), (size_t)mf_sql_column_bytes(as, 1),
		    "not_before=", field, sizeof(field)) != MF_OK ||
		    strtoll(field, NULL, 10) != mf_sql_column_int64(cs, 6) ||
		    detail_field(mf_sql_column_blob(as, 1), (size_t)mf_sql_column_bytes(as, 1),
		    "not_after=", field, sizeof(field)) != MF_OK ||
		    strtoll(field, NULL, 10) != mf_sql_column_int64(cs, 7)) {
			snprintf(why, whylen, "certificate %s: issuer or validity differs from audit "
			    "row %lld (row edited)", serial, (long long)aid);
			goto out;
		}
		if (mf_sql_column_type(cs, 4) == MF_SQL_NULL) {
			if (EVP_Digest(mf_sql_column_blob(cs, 2), (size_t)mf_sql_column_bytes(cs, 2),
			    md, NULL, EVP_sha256(), NULL) != 1) {
				rc = MF_ERR_CRYPTO;
				goto out;
			}
		} else {
			if (mf_sql_column_bytes(cs, 3) != (int)sizeof(md) ||
			    mf_sql_column_bytes(cs, 2) != 0) {
				snprintf(why, whylen, "certificate %s: malformed pruned row", serial);
				goto out;
			}
			memcpy(md, mf_sql_column_blob(cs, 3), sizeof(md));
		}
		if (CRYPTO_memcmp(md, want, sizeof(md)) != 0) {
			snprintf(why, whylen, "certificate %s: its DER is not the one audit row %lld "
			    "recorded (row edited)", serial, (long long)aid);
			goto out;
		}
		n++;
	}
	rc = MF_OK;
	if (certs != NULL)
		*certs = n;
out:
	mf_sql_finalize(cs);
	mf_sql_finalize(as);
	return rc;
}

int
mf_db_cert_pruned_sha256(struct mf_db *db, const char *serial, unsigned char md[32])
{
	static const char sql[] =
	    "SELECT der_sha256 FROM certificates WHERE serial = ?1 AND pruned_at IS NOT NULL";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || serial == NULL || md == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_text(st, 1, serial, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW && mf_sql_column_bytes(st, 0) == 32) {
		memcpy(md, mf_sql_column_blob(st, 0), 32);
		rc = MF_OK;
	} else
		rc = rc == MF_SQL_DONE || rc == MF_SQL_ROW ? MF_ERR_NOTFOUND : mf_db_err(rc);
	mf_sql_finalize(st);
	return rc;
}
