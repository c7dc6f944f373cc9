/*
 * sql.c: the storage layer's dispatch and its SQLite backend (see sql.h).
 * SQLite calls pass straight through; PostgreSQL goes to sql_pg.c.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sql_int.h"

/* The result codes of sql.h are SQLite's; a mismatch must not compile. */
#define MF_SQL_SAME(a, b) _Static_assert((a) == (b), #a " differs from " #b)
MF_SQL_SAME(MF_SQL_OK, SQLITE_OK);
MF_SQL_SAME(MF_SQL_ERROR, SQLITE_ERROR);
MF_SQL_SAME(MF_SQL_BUSY, SQLITE_BUSY);
MF_SQL_SAME(MF_SQL_LOCKED, SQLITE_LOCKED);
MF_SQL_SAME(MF_SQL_NOMEM, SQLITE_NOMEM);
MF_SQL_SAME(MF_SQL_READONLY, SQLITE_READONLY);
MF_SQL_SAME(MF_SQL_IOERR, SQLITE_IOERR);
MF_SQL_SAME(MF_SQL_CORRUPT, SQLITE_CORRUPT);
MF_SQL_SAME(MF_SQL_FULL, SQLITE_FULL);
MF_SQL_SAME(MF_SQL_CANTOPEN, SQLITE_CANTOPEN);
MF_SQL_SAME(MF_SQL_CONSTRAINT, SQLITE_CONSTRAINT);
MF_SQL_SAME(MF_SQL_MISUSE, SQLITE_MISUSE);
MF_SQL_SAME(MF_SQL_ROW, SQLITE_ROW);
MF_SQL_SAME(MF_SQL_DONE, SQLITE_DONE);
MF_SQL_SAME(MF_SQL_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_PRIMARYKEY);
MF_SQL_SAME(MF_SQL_CONSTRAINT_TRIGGER, SQLITE_CONSTRAINT_TRIGGER);
MF_SQL_SAME(MF_SQL_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_UNIQUE);
MF_SQL_SAME(MF_SQL_INTEGER, SQLITE_INTEGER);
MF_SQL_SAME(MF_SQL_FLOAT, SQLITE_FLOAT);
MF_SQL_SAME(MF_SQL_TEXT, SQLITE_TEXT);
MF_SQL_SAME(MF_SQL_BLOB, SQLITE_BLOB);
MF_SQL_SAME(MF_SQL_NULL, SQLITE_NULL);

#define IS_PG(db)	((db)->backend == MF_SQL_PG)

int
mf_sql_wrap_sqlite(struct sqlite3 *h, struct mf_sql **out)
{
	struct mf_sql *db;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return MF_SQL_NOMEM;
	db->backend = MF_SQL_SQLITE;
	db->lite = h;
	*out = db;
	return MF_SQL_OK;
}

int
mf_sql_is_pg_uri(const char *target)
{
	return target != NULL && (strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0);
}

void
mf_sql_close(struct mf_sql *db)
{
	if (db == NULL)
		return;
	if (IS_PG(db))
		mf_sql_pg_close(db);
	else
		sqlite3_close_v2(db->lite);
	free(db);
}

enum mf_sql_backend
mf_sql_backend(const struct mf_sql *db)
{
	return db->backend;
}

struct sqlite3 *
mf_sql_sqlite(struct mf_sql *db)
{
	return db != NULL && !IS_PG(db) ? db->lite : NULL;
}

void
mf_sql_checkpoint_pages(struct mf_sql *db, int pages)
{
	if (db != NULL && !IS_PG(db))
		sqlite3_wal_autocheckpoint(db->lite, pages);
}

int
mf_sql_prepare(struct mf_sql *db, const char *sql, int flags, mf_sql_stmt **out)
{
	mf_sql_stmt *st;
	int rc;

	*out = NULL;
	if (IS_PG(db))
		return mf_sql_pg_prepare(db, sql, flags, out);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return MF_SQL_NOMEM;
	st->db = db;
	rc = sqlite3_prepare_v3(db->lite, sql, -1,
	    (flags & MF_SQL_PERSISTENT) ? SQLITE_PREPARE_PERSISTENT : 0, &st->lite, NULL);
	if (rc != SQLITE_OK || st->lite == NULL) {
		sqlite3_finalize(st->lite);
		free(st);
		return rc != SQLITE_OK ? rc : MF_SQL_MISUSE;
	}
	*out = st;
	return MF_SQL_OK;
}

int
mf_sql_step(mf_sql_stmt *st)
{
	if (st == NULL)
		return MF_SQL_MISUSE;
	return IS_PG(st->db) ? mf_sql_pg_step(st) : sqlite3_step(st->lite);
}

int
mf_sql_reset(mf_sql_stmt *st)
{
	if (st == NULL)
		return MF_SQL_OK;
	if (IS_PG(st->db)) {
		mf_sql_pg_reset(st);
		return MF_SQL_OK;
	}
	return sqlite3_reset(st->lite);
}

int
mf_sql_clear_bindings(mf_sql_stmt *st)
{
	if (st == NULL)
		return MF_SQL_OK;
	if (IS_PG(st->db)) {
		mf_sql_pg_clear(st);
		return MF_SQL_OK;
	}
	return sqlite3_clear_bindings(st->lite);
}

int
mf_sql_finalize(mf_sql_stmt *st)
{
	int rc = MF_SQL_OK;

	if (st == NULL)
		return MF_SQL_OK;
	if (IS_PG(st->db)) {
		mf_sql_pg_finalize(st);
		return MF_SQL_OK;
	}
	rc = sqlite3_finalize(st->lite);
	free(st);
	return rc;
}

int
mf_sql_bind_int64(mf_sql_stmt *st, int i, int64_t v)
{
	if (IS_PG(st->db))
		return mf_sql_pg_bind_int64(st, i, v);
	return sqlite3_bind_int64(st->lite, i, v);
}

int
mf_sql_bind_int(mf_sql_stmt *st, int i, int v)
{
	return mf_sql_bind_int64(st, i, v);
}

int
mf_sql_bind_text(mf_sql_stmt *st, int i, const char *s, int n, mf_sql_free_fn fn)
{
	if (IS_PG(st->db))
		return mf_sql_pg_bind(st, i, s, n < 0 && s != NULL ? (int)strlen(s) : n, 0, fn);
	return sqlite3_bind_text(st->lite, i, s, n, fn == MF_SQL_TRANSIENT ? SQLITE_TRANSIENT :
	    fn == MF_SQL_STATIC ? SQLITE_STATIC : fn);
}

int
mf_sql_bind_blob(mf_sql_stmt *st, int i, const void *p, int n, mf_sql_free_fn fn)
{
	if (IS_PG(st->db))
		return mf_sql_pg_bind(st, i, p == NULL ? "" : p, n, 1, fn);
	return sqlite3_bind_blob(st->lite, i, p, n, fn == MF_SQL_TRANSIENT ? SQLITE_TRANSIENT :
	    fn == MF_SQL_STATIC ? SQLITE_STATIC : fn);
}

int
mf_sql_bind_null(mf_sql_stmt *st, int i)
{
	if (IS_PG(st->db))
		return mf_sql_pg_bind(st, i, NULL, 0, 0, MF_SQL_STATIC);
	return sqlite3_bind_null(st->lite, i);
}

int64_t
mf_sql_column_int64(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_int64(st, i) : sqlite3_column_int64(st->lite, i);
}

int
mf_sql_column_int(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? (int)mf_sql_pg_column_int64(st, i) :
	    sqlite3_column_int(st->lite, i);
}

const unsigned char *
mf_sql_column_text(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_text(st, i) : sqlite3_column_text(st->lite, i);
}

const void *
mf_sql_column_blob(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_blob(st, i) : sqlite3_column_blob(st->lite, i);
}

int
mf_sql_column_bytes(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_bytes(st, i) : sqlite3_column_bytes(st->lite, i);
}

int
mf_sql_column_type(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_type(st, i) : sqlite3_column_type(st->lite, i);
}

int
mf_sql_column_count(mf_sql_stmt *st)
{
	return IS_PG(st->db) ? mf_sql_pg_column_count(st) : sqlite3_column_count(st->lite);
}

const char *
mf_sql_column_name(mf_sql_stmt *st, int i)
{
	return IS_PG(st->db) ? mf_sql_pg_column_name(st, i) : sqlite3_column_name(st->lite, i);
}

int
mf_sql_exec(struct mf_sql *db, const char *sql)
{
	return IS_PG(db) ? mf_sql_pg_exec(db, sql) : sqlite3_exec(db->lite, sql, NULL, NULL, NULL);
}

int
mf_sql_begin(struct mf_sql *db, int write)
{
	if (IS_PG(db))
		return mf_sql_pg_begin(db, write);
	/*
	 * IMMEDIATE takes the write lock now: a deferred transaction that reads
	 * and then writes can fail with SQLITE_BUSY_SNAPSHOT in WAL mode without
	 * the busy handler ever being consulted.
	 */
	return sqlite3_exec(db->lite, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL);
}

int
mf_sql_commit(struct mf_sql *db)
{
	return mf_sql_exec(db, "COMMIT");
}

int
mf_sql_rollback(struct mf_sql *db)
{
	return mf_sql_exec(db, "ROLLBACK");
}

int
mf_sql_in_tx(struct mf_sql *db)
{
	return IS_PG(db) ? mf_sql_pg_in_tx(db) : !sqlite3_get_autocommit(db->lite);
}

int
mf_sql_changes(struct mf_sql *db)
{
	return IS_PG(db) ? db->changes : sqlite3_changes(db->lite);
}

int
mf_sql_errcode(struct mf_sql *db)
{
	if (db == NULL)
		return MF_SQL_MISUSE;
	return IS_PG(db) ? db->errcode : sqlite3_extended_errcode(db->lite);
}

const char *
mf_sql_errmsg(struct mf_sql *db)
{
	if (db == NULL)
		return "no database";
	return IS_PG(db) ? db->errmsg : sqlite3_errmsg(db->lite);
}

int
mf_sql_readonly(struct mf_sql *db)
{
	return IS_PG(db) ? db->readonly : sqlite3_db_readonly(db->lite, "main");
}

int
mf_sql_ping(struct mf_sql *db)
{
	return IS_PG(db) ? mf_sql_pg_ping(db) : MF_SQL_OK;
}

int
mf_sql_system_errno(struct mf_sql *db)
{
	return db == NULL || IS_PG(db) ? 0 : sqlite3_system_errno(db->lite);
}
