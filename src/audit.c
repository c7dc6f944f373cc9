/*
 * audit.c: the hash-chained audit log of the issuance database (the
 * mf_db_audit_* functions of db.h).
 *
 * Row n stores hash_n = SHA-256(tag || hash_{n-1} || id || time || event ||
 * actor || detail), with hash_0 = 32 zero bytes. Integers are 8 bytes big
 * endian and strings carry a 4-byte length prefix, so no choice of field
 * contents can move a boundary ("ab"+"c" and "a"+"bc" hash differently).
 * The id is inside the hash, so moving an intact row to another position
 * shows, and each row names its predecessor's hash, so deleting or inserting
 * a row in the middle shows at the row after it.
 *
 * What the chain cannot show: someone who can write the file can rewrite
 * the whole chain from the point of a change (there is no key), and can cut
 * rows off the end. Against both, keep a copy of the latest hash somewhere
 * else (mf_db_audit_head) and compare. The SQL triggers that forbid UPDATE
 * and DELETE only stop accidents; verification never relies on them.
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

#define AUDIT_HASH_LEN	32
/* Domain separation: these hashes are never confused with any other SHA-256 use. */
static const char audit_tag[] = "mayfly-audit-v1";

/* How far verification looks for the original position of a moved row. */
#define AUDIT_MOVE_WINDOW	256

struct audit_row {
	int64_t id;
	int64_t time;
	const void *event, *actor, *detail;
	size_t event_len, actor_len, detail_len;
	const unsigned char *prev;	/* AUDIT_HASH_LEN bytes */
};

static int
audit_put_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	return EVP_DigestUpdate(ctx, b, sizeof(b));
}

static int
audit_put_str(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	unsigned char b[4];

	if (n > UINT32_MAX)
		return 0;
	b[0] = (unsigned char)(n >> 24);
	b[1] = (unsigned char)(n >> 16);
	b[2] = (unsigned char)(n >> 8);
	b[3] = (unsigned char)n;
	return EVP_DigestUpdate(ctx, b, sizeof(b)) && (n == 0 || EVP_DigestUpdate(ctx, p, n));
}

/* The hash of row r as if it had the id `id`. */
static int
audit_hash(const struct audit_row *r, int64_t id, unsigned char out[AUDIT_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	int rc = MF_ERR_CRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return MF_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, audit_tag, sizeof(audit_tag)) != 1 ||
	    EVP_DigestUpdate(ctx, r->prev, AUDIT_HASH_LEN) != 1 ||
	    audit_put_u64(ctx, (uint64_t)id) != 1 ||
	    audit_put_u64(ctx, (uint64_t)r->time) != 1 ||
	    audit_put_str(ctx, r->event, r->event_len) != 1 ||
	    audit_put_str(ctx, r->actor, r->actor_len) != 1 ||
	    audit_put_str(ctx, r->detail, r->detail_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != AUDIT_HASH_LEN)
		goto out;
	rc = MF_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
mf_db_audit_append(struct mf_db *db, const char *event, const char *actor,
    const char *detail)
{
	static const char sql_last[] =
	    "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1";
	static const char sql_insert[] =
	    "INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	static const unsigned char genesis[AUDIT_HASH_LEN];
	unsigned char prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	struct mf_db_tx tx = { 0, 0 };
	struct audit_row row;
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || event == NULL || actor == NULL)
		return MF_ERR_INVAL;
	if (detail == NULL)
		detail = "";
	/* Reading the tail and appending must be one unit, or two writers fork the chain. */
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_db_stmt(db, MF_ST_AUDIT_LAST, sql_last, &st)) != MF_OK)
		goto out;
	memcpy(prev, genesis, sizeof(prev));
	row.id = 1;
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW) {
		if (mf_sql_column_bytes(st, 1) != AUDIT_HASH_LEN ||
		    mf_sql_column_int64(st, 0) >= INT64_MAX) {
			rc = MF_ERR_AUDIT_CHAIN;	/* never extend a tail we cannot read */
		} else {
			row.id = mf_sql_column_int64(st, 0) + 1;
			memcpy(prev, mf_sql_column_blob(st, 1), sizeof(prev));
			rc = MF_OK;
		}
	} else {
		rc = mf_db_err(rc);
	}
	mf_db_done(st);
	if (rc != MF_OK)
		goto out;

	row.time = (int64_t)time(NULL);
	row.event = event;
	row.event_len = strlen(event);
	row.actor = actor;
	row.actor_len = strlen(actor);
	row.detail = detail;
	row.detail_len = strlen(detail);
	row.prev = prev;
	if ((rc = audit_hash(&row, row.id, hash)) != MF_OK)
		goto out;
	if ((rc = mf_db_stmt(db, MF_ST_AUDIT_INSERT, sql_insert, &st)) != MF_OK)
		goto out;
	mf_sql_bind_int64(st, 1, row.id);
	mf_sql_bind_int64(st, 2, row.time);
	mf_sql_bind_text(st, 3, event, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 4, actor, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 5, detail, -1, MF_SQL_STATIC);
	mf_sql_bind_blob(st, 6, prev, sizeof(prev), MF_SQL_STATIC);
	mf_sql_bind_blob(st, 7, hash, sizeof(hash), MF_SQL_STATIC);
	rc = mf_db_err(mf_sql_step(st));
	mf_db_done(st);
out:
	return mf_db_tx_end(db, &tx, rc);
}

int
mf_db_audit_head(struct mf_db *db, int64_t *id, unsigned char hash[32])
{
	static const char sql_last[] =
	    "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || id == NULL || hash == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_db_stmt(db, MF_ST_AUDIT_LAST, sql_last, &st)) != MF_OK)
		return rc;
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW && mf_sql_column_bytes(st, 1) == AUDIT_HASH_LEN) {
		*id = mf_sql_column_int64(st, 0);
		memcpy(hash, mf_sql_column_blob(st, 1), AUDIT_HASH_LEN);
		rc = MF_OK;
	} else if (rc == MF_SQL_DONE) {
		*id = 0;
		memset(hash, 0, AUDIT_HASH_LEN);
		rc = MF_OK;
	} else {
		rc = rc == MF_SQL_ROW ? MF_ERR_AUDIT_CHAIN : mf_db_err(rc);
	}
	mf_db_done(st);
	return rc;
}

int
mf_db_audit_hash_at(struct mf_db *db, int64_t id, unsigned char hash[32])
{
	static const char sql[] = "SELECT hash FROM audit_log WHERE id = ?1";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || hash == NULL || id <= 0)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_int64(st, 1, id);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW && mf_sql_column_bytes(st, 0) == AUDIT_HASH_LEN) {
		memcpy(hash, mf_sql_column_blob(st, 0), AUDIT_HASH_LEN);
		rc = MF_OK;
	} else if (rc == MF_SQL_DONE) {
		rc = MF_ERR_NOTFOUND;
	} else {
		rc = rc == MF_SQL_ROW ? MF_ERR_AUDIT_CHAIN : mf_db_err(rc);
	}
	mf_sql_finalize(st);
	return rc;
}

/*
 * A row whose hash fails may be an intact row moved to another id (rows
 * swapped or renumbered). Its stored hash then matches its contents under
 * its original id; look for that id nearby. Returns the id or 0.
 */
static int64_t
audit_origin(const struct audit_row *r, const unsigned char *stored)
{
	unsigned char h[AUDIT_HASH_LEN];
	int64_t d, cand;

	for (d = 1; d <= AUDIT_MOVE_WINDOW; d++) {
		cand = r->id - d;
		if (cand >= 1 && audit_hash(r, cand, h) == MF_OK &&
		    CRYPTO_memcmp(h, stored, sizeof(h)) == 0)
			return cand;
		cand = r->id + d;
		if (audit_hash(r, cand, h) == MF_OK && CRYPTO_memcmp(h, stored, sizeof(h)) == 0)
			return cand;
	}
	return 0;
}

static void
audit_link_why(char *why, size_t whylen, int64_t id, int64_t prev_id)
{
	if (prev_id == 0 && id == 2)
		snprintf(why, whylen, "row 2: first row does not start the chain"
		    " (row 1 deleted)");
	else if (prev_id == 0 && id > 2)
		snprintf(why, whylen, "row %lld: first row does not start the chain"
		    " (rows 1-%lld deleted)", (long long)id, (long long)(id - 1));
	else if (prev_id == 0)
		snprintf(why, whylen, "row %lld: previous hash is not the chain's start"
		    " (row inserted before it)", (long long)id);
	else if (id == prev_id + 2)
		snprintf(why, whylen, "row %lld: previous hash does not match row %lld"
		    " (row %lld deleted)", (long long)id, (long long)prev_id,
		    (long long)(prev_id + 1));
	else if (id > prev_id + 2)
		snprintf(why, whylen, "row %lld: previous hash does not match row %lld"
		    " (rows %lld-%lld deleted)", (long long)id, (long long)prev_id,
		    (long long)(prev_id + 1), (long long)(id - 1));
	else
		snprintf(why, whylen, "row %lld: previous hash does not match row %lld"
		    " (row inserted, deleted or rows reordered)", (long long)id,
		    (long long)prev_id);
}

int
mf_db_audit_verify(struct mf_db *db, int64_t *rows, int64_t *bad_id, char *why,
    size_t whylen)
{
	static const char sql[] =
	    "SELECT id, time, event, actor, detail, prev_hash, hash FROM audit_log ORDER BY id";
	unsigned char prev[AUDIT_HASH_LEN], h[AUDIT_HASH_LEN];
	const unsigned char *stored;
	char dummy[1];
	struct audit_row r;
	mf_sql_stmt *st = NULL;
	int64_t n = 0, prev_id = 0, origin;
	int rc;

	if (rows != NULL)
		*rows = 0;
	if (bad_id != NULL)
		*bad_id = 0;
	if (why == NULL || whylen == 0) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	*why = '\0';
	if (db == NULL)
		return MF_ERR_INVAL;
	/* One statement reads one consistent snapshot, even beside a writer. */
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	memset(prev, 0, sizeof(prev));
	for (;;) {
		if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		/*
		 * Read the text columns as blobs, with their byte lengths, so a
		 * value edited to contain a NUL is hashed as it is stored.
		 */
		r.id = mf_sql_column_int64(st, 0);
		r.time = mf_sql_column_int64(st, 1);
		r.event = mf_sql_column_blob(st, 2);
		r.event_len = (size_t)mf_sql_column_bytes(st, 2);
		r.actor = mf_sql_column_blob(st, 3);
		r.actor_len = (size_t)mf_sql_column_bytes(st, 3);
		r.detail = mf_sql_column_blob(st, 4);
		r.detail_len = (size_t)mf_sql_column_bytes(st, 4);
		r.prev = mf_sql_column_blob(st, 5);
		if (r.prev == NULL || mf_sql_column_bytes(st, 5) != AUDIT_HASH_LEN ||
		    mf_sql_column_bytes(st, 6) != AUDIT_HASH_LEN) {
			snprintf(why, whylen, "row %lld: malformed hash fields (row changed)",
			    (long long)r.id);
			rc = MF_ERR_AUDIT_CHAIN;
			break;
		}
		stored = mf_sql_column_blob(st, 6);
		if ((rc = audit_hash(&r, r.id, h)) != MF_OK)
			break;
		if (CRYPTO_memcmp(h, stored, sizeof(h)) != 0) {
			if ((origin = audit_origin(&r, stored)) != 0)
				snprintf(why, whylen, "row %lld: holds the entry written as row"
				    " %lld (rows reordered)", (long long)r.id, (long long)origin);
			else
				snprintf(why, whylen, "row %lld: hash mismatch (row changed)",
				    (long long)r.id);
			rc = MF_ERR_AUDIT_CHAIN;
			break;
		}
		if (CRYPTO_memcmp(r.prev, prev, sizeof(prev)) != 0) {
			audit_link_why(why, whylen, r.id, prev_id);
			rc = MF_ERR_AUDIT_CHAIN;
			break;
		}
		memcpy(prev, stored, sizeof(prev));
		prev_id = r.id;
		n++;
	}
	if (rc == MF_ERR_AUDIT_CHAIN && bad_id != NULL)
		*bad_id = r.id;
	if (rc == MF_OK && rows != NULL)
		*rows = n;
out:
	mf_sql_finalize(st);
	return rc;
}

int
mf_db_audit_config(struct mf_db *db, const char *path, const unsigned char sha256[32],
    const char *actor, int *recorded)
{
	static const char sql[] =
	    "SELECT detail FROM audit_log WHERE event = 'config' AND detail LIKE ?1 ESCAPE '\\'"
	    " ORDER BY id DESC LIMIT 1";
	char hex[2 * AUDIT_HASH_LEN + 1], *detail = NULL, *like = NULL, *q;
	const char *p;
	mf_sql_stmt *st = NULL;
	int rc, src;

	if (db == NULL || path == NULL || sha256 == NULL || actor == NULL)
		return MF_ERR_INVAL;
	if (recorded != NULL)
		*recorded = 0;
	for (size_t i = 0; i < AUDIT_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha256[i]);
	if (asprintf(&detail, "path=%s sha256=%s", path, hex) < 0)
		return MF_ERR_NOMEM;
	/* LIKE 'path=<path> sha256=%' with the path's own % and _ escaped. */
	if ((like = malloc(2 * strlen(path) + 16)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	q = like + sprintf(like, "path=");
	for (p = path; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			*q++ = '\\';
		*q++ = *p;
	}
	strcpy(q, " sha256=%");
	if ((src = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK ||
	    (src = mf_sql_bind_text(st, 1, like, -1, MF_SQL_STATIC)) != MF_SQL_OK) {
		rc = mf_db_err(src);
		goto out;
	}
	src = mf_sql_step(st);
	if (src == MF_SQL_ROW) {
		const unsigned char *last = mf_sql_column_text(st, 0);

		if (last != NULL && strcmp((const char *)last, detail) == 0) {
			rc = MF_OK;	/* unchanged since it was last recorded */
			goto out;
		}
	} else if (src != MF_SQL_DONE) {
		rc = mf_db_err(src);
		goto out;
	}
	mf_sql_finalize(st);
	st = NULL;
	if ((rc = mf_db_audit_append(db, "config", actor, detail)) == MF_OK && recorded != NULL)
		*recorded = 1;
out:
	mf_sql_finalize(st);
	free(like);
	free(detail);
	return rc;
}
