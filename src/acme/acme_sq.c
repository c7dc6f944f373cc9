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
bindv(sqlite3_stmt *st, const char *types, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 0; types != NULL && types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT) :
			    sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b': {
			const void *b = va_arg(ap, const void *);
			int n = va_arg(ap, int);

			rc = sqlite3_bind_blob(st, i + 1, b, n, SQLITE_TRANSIENT);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(st, i + 1);
			break;
		default:
			return MF_ERR_INVAL;
		}
	}
	return rc == SQLITE_OK ? 0 : MF_ERR_DB;
}

static int
preparev(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap)
{
	*st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return MF_ERR_DB;
	if (bindv(*st, types, ap) != 0) {
		sqlite3_finalize(*st);
		*st = NULL;
		return MF_ERR_DB;
	}
	return 0;
}

int
acme_sq_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = preparev(db, st, sql, types, ap);
	va_end(ap);
	return rc;
}

int
acme_sq_exec(sqlite3 *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = preparev(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	/* The connection may use extended result codes: compare the primary code. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return MF_ERR_EXISTS;
	if ((rc & 0xff) == SQLITE_BUSY)
		return MF_ERR_DB_BUSY;
	if ((rc & 0xff) == SQLITE_FULL)
		return MF_ERR_DB_FULL;
	if ((rc & 0xff) == SQLITE_READONLY)
		return MF_ERR_DB_READONLY;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : MF_ERR_DB;
}

int
acme_sq_count(sqlite3 *db, int64_t *n, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	*n = 0;
	va_start(ap, types);
	rc = preparev(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : MF_ERR_DB;
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
acme_rate_check(sqlite3 *db, const char *key, unsigned limit, int64_t now, int *retry)
{
	sqlite3_stmt *st;
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
		if (sqlite3_step(st) == SQLITE_ROW)
			*retry = (int)(sqlite3_column_int64(st, 0) + 3600 - now + 1);
		sqlite3_finalize(st);
	}
	if (*retry <= 0)
		*retry = 1;
	return MF_ERR_ACME_RATELIMIT;
}

int
acme_rate_add(sqlite3 *db, const char *key, int64_t now)
{
	return acme_sq_exec(db, "INSERT INTO acme_rate(key, at) VALUES (?, ?)", "si", key, now);
}

int
acme_cleanup(sqlite3 *db, int64_t now)
{
	int rc;

	/*
	 * Orders that never produced a certificate are useless once expired;
	 * their authorisations and challenges go with them (ON DELETE
	 * CASCADE). Valid orders stay: they name the certificate URL.
	 */
	/* Rows of the nonce table are left only by versions that stored nonces. */
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
acme_account_get(sqlite3 *db, const char *id, const char *thumbprint,
    struct acme_account **out)
{
	sqlite3_stmt *st = NULL;
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
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? MF_ERR_ACME_NOACCOUNT : MF_ERR_DB;
		goto out;
	}
	rc = MF_ERR_NOMEM;
	if ((acct = calloc(1, sizeof(*acct))) == NULL)
		goto out;
	rc = MF_ERR_DB;
	s = (const char *)sqlite3_column_text(st, 0);
	if (s == NULL || strlen(s) > ACME_ID_LEN)
		goto out;
	strcpy(acct->id, s);
	s = (const char *)sqlite3_column_text(st, 1);
	if (s == NULL || strlen(s) >= sizeof(acct->thumbprint))
		goto out;
	strcpy(acct->thumbprint, s);
	acct->jwk = json_loads((const char *)sqlite3_column_text(st, 2), 0, &jerr);
	s = (const char *)sqlite3_column_text(st, 3);
	if (s == NULL || strlen(s) >= sizeof(acct->status))
		goto out;
	strcpy(acct->status, s);
	acct->contact = json_loads((const char *)sqlite3_column_text(st, 4), 0, &jerr);
	if (acct->jwk == NULL || acct->contact == NULL)
		goto out;
	*out = acct;
	acct = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	acme_account_free(acct);
	return rc;
}
