/*
 * acme_sq.c: the small SQLite vocabulary of the renewal listener: bound
 * statements in one call, random identifiers, single-use nonces, sliding
 * window rate limits and the cleanup of expired protocol state. (Nonces are
 * not kept here: see acme_nonce.c.)
 *
 * All functions run under the listener's lock on its one connection.
 */
#include "mf_build.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "acme/acme_int.h"
#include "mferr.h"

static int
bindv(mf_sql_stmt *st, const char *types, va_list ap)
{
	int i, rc = MF_SQL_OK;

	for (i = 0; types != NULL && types[i] != '\0' && rc == MF_SQL_OK; i++) {
		switch (types[i]) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			rc = s ? mf_sql_bind_text(st, i + 1, s, -1, MF_SQL_TRANSIENT) :
			    mf_sql_bind_null(st, i + 1);
			break;
		}
		case 'i':
			rc = mf_sql_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b': {
			const void *b = va_arg(ap, const void *);
			int n = va_arg(ap, int);

			rc = mf_sql_bind_blob(st, i + 1, b, n, MF_SQL_TRANSIENT);
			break;
		}
		case 'n':
			rc = mf_sql_bind_null(st, i + 1);
			break;
		default:
			return MF_ERR_INVAL;
		}
	}
	return rc == MF_SQL_OK ? 0 : MF_ERR_DB;
}

struct acme_sq *
acme_sq_new(struct mf_sql *h)
{
	struct acme_sq *q;

	if (h == NULL || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->h = h;
	return q;
}

void
acme_sq_free(struct acme_sq *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++)
		mf_sql_finalize(q->c[i].st);
	free(q);
}

/*
 * A prepared statement for sql: the cached one if it is free, else a new
 * one (kept in the cache while there is room). A statement in use (a
 * caller walking rows while it runs the same SQL again) is never handed out
 * twice: the second user gets a statement of its own.
 */
static int
preparev(struct acme_sq *q, mf_sql_stmt **st, const char *sql, const char *types, va_list ap)
{
	size_t i;

	*st = NULL;
	for (i = 0; i < q->n; i++)
		if (q->c[i].sql == sql && !q->c[i].busy) {
			q->c[i].busy = 1;
			*st = q->c[i].st;
			break;
		}
	if (*st == NULL) {
		if (mf_sql_prepare(q->h, sql, q->n < ACME_SQ_CACHE ? MF_SQL_PERSISTENT : 0, st) !=
		    MF_SQL_OK) {
			mf_sql_finalize(*st);
			*st = NULL;
			return MF_ERR_DB;
		}
		if (q->n < ACME_SQ_CACHE) {
			q->c[q->n].sql = sql;
			q->c[q->n].st = *st;
			q->c[q->n].busy = 1;
			q->n++;
		}
	}
	if (bindv(*st, types, ap) != 0) {
		acme_sq_done(q, *st);
		*st = NULL;
		return MF_ERR_DB;
	}
	return 0;
}

void
acme_sq_done(struct acme_sq *q, mf_sql_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < q->n; i++)
		if (q->c[i].st == st) {
			mf_sql_reset(st);
			mf_sql_clear_bindings(st);
			q->c[i].busy = 0;
			return;
		}
	mf_sql_finalize(st);	/* not cached: the cache was full */
}

int
acme_sq_prepare(struct acme_sq *db, mf_sql_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = preparev(db, st, sql, types, ap);
	va_end(ap);
	return rc;
}

int
acme_sq_exec(struct acme_sq *db, const char *sql, const char *types, ...)
{
	mf_sql_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = preparev(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = mf_sql_step(st);
	acme_sq_done(db, st);
	/* The connection may use extended result codes: compare the primary code. */
	if ((rc & 0xff) == MF_SQL_CONSTRAINT)
		return MF_ERR_EXISTS;
	if ((rc & 0xff) == MF_SQL_BUSY)
		return MF_ERR_DB_BUSY;
	if ((rc & 0xff) == MF_SQL_FULL)
		return MF_ERR_DB_FULL;
	if ((rc & 0xff) == MF_SQL_READONLY)
		return MF_ERR_DB_READONLY;
	if (rc == MF_SQL_IOERR_NOCONN)
		return MF_ERR_DB_UNAVAILABLE;
	return rc == MF_SQL_DONE || rc == MF_SQL_ROW ? 0 : MF_ERR_DB;
}

int
acme_sq_durable(struct acme_sq *db, int on)
{
	/*
	 * SQLite, in WAL mode: NORMAL syncs only at checkpoints, FULL at each
	 * commit. A FULL commit syncs every frame before it, so state
	 * committed NORMAL never becomes durable out of order with a later
	 * FULL one. PostgreSQL: synchronous_commit off returns before the WAL
	 * is flushed (the WAL writer flushes it within a few hundred ms), on
	 * waits for it; the WAL is one sequence, so a later synchronous
	 * commit flushes every earlier one with it, the same property.
	 * Either way a crash may lose the last protocol state (a client
	 * retries), never a certificate: those are committed on the issuing
	 * connection, which always syncs. Called outside transactions.
	 */
	if (mf_sql_backend(db->h) == MF_SQL_PG)
		return mf_sql_exec(db->h, on ? "SET synchronous_commit = on" :
		    "SET synchronous_commit = off") == MF_SQL_OK ? 0 : MF_ERR_DB;
	return mf_sql_exec(db->h, on ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") == MF_SQL_OK ? 0 : MF_ERR_DB;
}

int
acme_sq_count(struct acme_sq *db, int64_t *n, const char *sql, const char *types, ...)
{
	mf_sql_stmt *st;
	va_list ap;
	int rc;

	*n = 0;
	va_start(ap, types);
	rc = preparev(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW)
		*n = mf_sql_column_int64(st, 0);
	acme_sq_done(db, st);
	return rc == MF_SQL_ROW ? 0 : MF_ERR_DB;
}

int
acme_random_id(char out[ACME_ID_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[ACME_ID_LEN];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return MF_ERR_CRYPTO;
	/* 22 characters of 6 bits each: 132 bits from the CSPRNG. */
	for (i = 0; i < ACME_ID_LEN; i++)
		out[i] = b64u[r[i] & 63];
	out[ACME_ID_LEN] = '\0';
	return 0;
}

int
acme_b64u_random(char *out, size_t nbytes)
{
	unsigned char r[64];
	char *s;

	/*
	 * A canonical base64url encoding of random bytes: clients such as
	 * certbot (josepy) decode and re-encode nonces and tokens, so a
	 * string whose last character carries stray bits would change.
	 */
	if (nbytes > sizeof(r) || RAND_bytes(r, (int)nbytes) != 1)
		return MF_ERR_CRYPTO;
	if ((s = mf_b64u_encode(r, nbytes)) == NULL)
		return MF_ERR_NOMEM;
	strcpy(out, s);
	free(s);
	return 0;
}

int
acme_rate_check(struct acme_sq *db, const char *key, unsigned limit, int64_t now, int *retry)
{
	mf_sql_stmt *st;
	int64_t n;
	int rc;

	*retry = 0;
	if (limit == 0)
		return 0;
	if ((rc = acme_sq_count(db, &n, "SELECT count(*) FROM acme_rate WHERE key = ? AND at > ?",
	    "si", key, now - 3600)) != 0)
		return rc;
	if (n < (int64_t)limit)
		return 0;
	/* Retry when the oldest event counted leaves the window. */
	if (acme_sq_prepare(db, &st, "SELECT min(at) FROM acme_rate WHERE key = ? AND at > ?",
	    "si", key, now - 3600) == 0) {
		if (mf_sql_step(st) == MF_SQL_ROW)
			*retry = (int)(mf_sql_column_int64(st, 0) + 3600 - now + 1);
		acme_sq_done(db, st);
	}
	if (*retry <= 0)
		*retry = 1;
	return MF_ERR_ACME_RATELIMIT;
}

int
acme_rate_add(struct acme_sq *db, const char *key, int64_t now)
{
	return acme_sq_exec(db, "INSERT INTO acme_rate(key, at) VALUES (?, ?)", "si", key, now);
}

int
acme_cleanup(struct acme_sq *db, int64_t now)
{
	int rc;

	/*
	 * Orders that never produced a certificate are useless once expired;
	 * their authorisations and challenges go with them (ON DELETE
	 * CASCADE). Valid orders stay: they name the certificate URL.
	 */
	/* Spent nonces of a shared log (acme_nonce.c), and rows of old versions. */
	if ((rc = acme_sq_exec(db, "DELETE FROM acme_nonces WHERE expires <= ?", "i", now)) != 0)
		return rc;
	if ((rc = acme_sq_exec(db, "DELETE FROM acme_rate WHERE at <= ?", "i", now - 3600)) != 0)
		return rc;
	if ((rc = acme_sq_exec(db,
	    "DELETE FROM acme_challenges WHERE authz_id IN (SELECT a.id FROM acme_authzs a "
	    "JOIN acme_orders o ON o.id = a.order_id WHERE o.expires <= ? AND o.status != 'valid')",
	    "i", now)) != 0)
		return rc;
	if ((rc = acme_sq_exec(db,
	    "DELETE FROM acme_authzs WHERE order_id IN (SELECT id FROM acme_orders "
	    "WHERE expires <= ? AND status != 'valid')", "i", now)) != 0)
		return rc;
	return acme_sq_exec(db, "DELETE FROM acme_orders WHERE expires <= ? AND status != 'valid'",
	    "i", now);
}

void
acme_account_free(struct acme_account *acct)
{
	if (acct == NULL)
		return;
	json_decref(acct->jwk);
	json_decref(acct->contact);
	free(acct);
}

int
acme_account_get(struct acme_sq *db, const char *id, const char *thumbprint,
    struct acme_account **out)
{
	mf_sql_stmt *st = NULL;
	struct acme_account *acct = NULL;
	json_error_t jerr;
	const char *s;
	int rc;

	*out = NULL;
	if (id != NULL)
		rc = acme_sq_prepare(db, &st, "SELECT id, thumbprint, jwk, status, contact "
		    "FROM acme_accounts WHERE id = ?", "s", id);
	else
		rc = acme_sq_prepare(db, &st, "SELECT id, thumbprint, jwk, status, contact "
		    "FROM acme_accounts WHERE thumbprint = ?", "s", thumbprint);
	if (rc != 0)
		return rc;
	rc = mf_sql_step(st);
	if (rc != MF_SQL_ROW) {
		rc = rc == MF_SQL_DONE ? MF_ERR_ACME_NOACCOUNT : MF_ERR_DB;
		goto out;
	}
	rc = MF_ERR_NOMEM;
	if ((acct = calloc(1, sizeof(*acct))) == NULL)
		goto out;
	rc = MF_ERR_DB;
	s = (const char *)mf_sql_column_text(st, 0);
	if (s == NULL || strlen(s) > ACME_ID_LEN)
		goto out;
	strcpy(acct->id, s);
	s = (const char *)mf_sql_column_text(st, 1);
	if (s == NULL || strlen(s) >= sizeof(acct->thumbprint))
		goto out;
	strcpy(acct->thumbprint, s);
	acct->jwk = json_loads((const char *)mf_sql_column_text(st, 2), 0, &jerr);
	s = (const char *)mf_sql_column_text(st, 3);
	if (s == NULL || strlen(s) >= sizeof(acct->status))
		goto out;
	strcpy(acct->status, s);
	acct->contact = json_loads((const char *)mf_sql_column_text(st, 4), 0, &jerr);
	if (acct->jwk == NULL || acct->contact == NULL)
		goto out;
	*out = acct;
	acct = NULL;
	rc = 0;
out:
	acme_sq_done(db, st);
	acme_account_free(acct);
	return rc;
}
