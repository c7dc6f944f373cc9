/*
 * db.c: the SQLite issuance log (see db.h).
 *
 * This file opens the database with the durability settings the CA's
 * invariant rests on ("no certificate leaves the CA before its record is
 * committed"): WAL with synchronous=FULL, so a returned COMMIT has been
 * fsync'ed. It migrates the schema forward from the table compiled in from
 * the numbered files in sql/, and holds the certificate, revocation, CRL-number and
 * CA-certificate queries. The audit chain lives in audit.c; every write
 * here appends its audit row inside the same transaction, so the log and
 * the chain cannot disagree.
 *
 * All SQL is static text with bound parameters; nothing is ever pasted
 * into a statement.
 */
#include "mf_build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "store/sql.h"

#include "db.h"
#include "db_int.h"
#include "db_schema.h"
#include "db_schema_pg.h"
#include "mferr.h"
#include "util.h"

/* How long a writer waits for another process's lock before MF_ERR_DB_BUSY. */
#define MF_DB_BUSY_MS	5000

int
mf_db_err(int sqlite_rc)
{
	if (sqlite_rc == MF_SQL_IOERR_NOCONN)
		return MF_ERR_DB_UNAVAILABLE;
	switch (sqlite_rc & 0xff) {
	case MF_SQL_OK:
	case MF_SQL_ROW:
	case MF_SQL_DONE:
		return MF_OK;
	case MF_SQL_BUSY:
	case MF_SQL_LOCKED:
		return MF_ERR_DB_BUSY;
	case MF_SQL_NOMEM:
		return MF_ERR_NOMEM;
	case MF_SQL_IOERR:
	case MF_SQL_FULL:
	case MF_SQL_CANTOPEN:
		return MF_ERR_IO;
	default:
		return MF_ERR_DB;
	}
}

int
mf_db_stmt(struct mf_db *db, enum mf_db_slot slot, const char *sql, mf_sql_stmt **out)
{
	int rc;

	if (db->st[slot] == NULL) {
		rc = mf_sql_prepare(db->h, sql, MF_SQL_PERSISTENT, &db->st[slot]);
		if (rc != MF_SQL_OK) {
			db->st[slot] = NULL;
			return mf_db_err(rc);
		}
	}
	*out = db->st[slot];
	return MF_OK;
}

void
mf_db_done(mf_sql_stmt *st)
{
	if (st == NULL)
		return;
	mf_sql_reset(st);
	mf_sql_clear_bindings(st);
}

int
mf_db_tx_begin(struct mf_db *db, struct mf_db_tx *tx)
{
	int rc;

	tx->active = 0;
	tx->nested = mf_sql_in_tx(db->h);
	rc = tx->nested ? mf_sql_exec(db->h, "SAVEPOINT mf_unit") : mf_sql_begin(db->h, 1);
	if (rc != MF_SQL_OK)
		return mf_db_err(rc);
	tx->active = 1;
	return MF_OK;
}

int
mf_db_tx_end(struct mf_db *db, struct mf_db_tx *tx, int rc)
{
	int src;

	if (!tx->active)
		return rc;
	tx->active = 0;
	if (rc == MF_OK) {
		src = mf_sql_exec(db->h, tx->nested ? "RELEASE mf_unit" : "COMMIT");
		if (src == MF_SQL_OK)
			return MF_OK;
		rc = mf_db_err(src);
	}
	if (tx->nested) {
		/* Undo this unit only; the caller's batch stays open. */
		mf_sql_exec(db->h, "ROLLBACK TO mf_unit");
		mf_sql_exec(db->h, "RELEASE mf_unit");
	} else if (mf_sql_in_tx(db->h)) {
		mf_sql_exec(db->h, "ROLLBACK");
	}
	return rc;
}

/* ---- opening and migrating ------------------------------------------------ */

int
mf_db_query_int64(struct mf_db *db, const char *sql, int64_t *val)
{
	mf_sql_stmt *st = NULL;
	int rc;

	*val = 0;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	if ((rc = mf_sql_step(st)) == MF_SQL_ROW) {
		*val = mf_sql_column_int64(st, 0);
		rc = MF_OK;
	} else {
		rc = rc == MF_SQL_DONE ? MF_ERR_DB : mf_db_err(rc);
	}
	mf_sql_finalize(st);
	return rc;
}

static int
db_query_int(struct mf_db *db, const char *sql, int *val)
{
	int64_t v = 0;
	int rc;

	if ((rc = mf_db_query_int64(db, sql, &v)) == MF_OK)
		*val = (int)v;
	return rc;
}

/*
 * The schema version: SQLite keeps it in the file header (user_version),
 * PostgreSQL in a table of one row made by the first migration run.
 */
static int
db_version_get(struct mf_db *db, int *have)
{
	if (!db->pg)
		return db_query_int(db, "PRAGMA user_version", have);
	return db_query_int(db, "SELECT coalesce((SELECT max(version) FROM mayfly_schema), 0)",
	    have);
}

static int
db_version_set(struct mf_db *db, int version)
{
	mf_sql_stmt *st = NULL;
	char sql[64];
	int rc;

	if (!db->pg) {
		/* An integer from our own table, not input: formatting it in is safe. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
		return mf_db_err(mf_sql_exec(db->h, sql));
	}
	if ((rc = mf_sql_prepare(db->h, "INSERT INTO mayfly_schema (version, applied_at)"
	    " VALUES (?1, ?2)", 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_int64(st, 1, version);
	mf_sql_bind_int64(st, 2, (int64_t)time(NULL));
	rc = mf_sql_step(st);
	mf_sql_finalize(st);
	return rc == MF_SQL_DONE ? MF_OK : mf_db_err(rc);
}

/*
 * Waiting for another connection's write lock. SQLite's own busy timeout
 * sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries; the signer holds the
 * lock only for a group commit's fsync, so those sleeps were mostly waste,
 * and a thread that sleeps in them may hold a listener's lock meanwhile
 * (the ACME listener's protocol writes). Here the sleeps start at 50 us and
 * double up to 2 ms, and the waiting ends, SQLITE_BUSY, once they add up
 * to MF_DB_BUSY_MS.
 */
long
mf_db_busy_sleep_us(int count)
{
	long long slept = 0, d = 50;
	int i;

	for (i = 0; i < count; i++) {
		slept += d;
		d = d < 1000 ? 2 * d : 2000;
	}
	return slept >= (long long)MF_DB_BUSY_MS * 1000 ? -1 : (long)d;
}

static int
db_busy_wait(void *arg, int count)
{
	long d = mf_db_busy_sleep_us(count);

	(void)arg;
	if (d < 0)
		return 0;
	usleep((useconds_t)d);
	return 1;
}

static int
db_settings(struct mf_db *db)
{
	sqlite3 *lite = mf_sql_sqlite(db->h);
	mf_sql_stmt *st = NULL;
	const unsigned char *mode;
	int rc;

	if (lite == NULL)
		return MF_OK;	/* PostgreSQL: the session settings of sql_pg.c */
	sqlite3_extended_result_codes(lite, 1);
	sqlite3_busy_handler(lite, db_busy_wait, NULL);
	if ((rc = mf_sql_exec(db->h, "PRAGMA foreign_keys = ON")) != MF_SQL_OK)
		return mf_db_err(rc);
	if (db->readonly)
		return MF_OK;	/* the journal mode is the writer's business */
	/*
	 * WAL lets OCSP and CRL readers run beside the issuing writer; FULL
	 * makes every COMMIT fsync the WAL, which is what "durably committed
	 * before the certificate leaves" needs (NORMAL may lose the last
	 * transactions on power loss). The pragma answers with the mode it
	 * actually got: a file system without shared memory stays in "delete".
	 */
	if ((rc = mf_sql_prepare(db->h, "PRAGMA journal_mode = WAL", 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	if ((rc = mf_sql_step(st)) != MF_SQL_ROW) {
		rc = mf_db_err(rc == MF_SQL_DONE ? MF_SQL_ERROR : rc);
		goto out;
	}
	mode = mf_sql_column_text(st, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		rc = MF_ERR_DB;
		goto out;
	}
	if ((rc = mf_sql_exec(db->h, "PRAGMA synchronous = FULL")) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	rc = MF_OK;
out:
	mf_sql_finalize(st);
	return rc;
}

static const struct mf_migration *
db_migrations(const struct mf_db *db, size_t *n)
{
	if (db->pg) {
		*n = sizeof(mf_migrations_pg) / sizeof(mf_migrations_pg[0]);
		return mf_migrations_pg;
	}
	*n = sizeof(mf_migrations) / sizeof(mf_migrations[0]);
	return mf_migrations;
}

static int
db_latest_version(const struct mf_db *db)
{
	const struct mf_migration *m;
	size_t n;

	m = db_migrations(db, &n);
	return m[n - 1].version;
}

/*
 * Applies each pending migration in its own write transaction together
 * with the new version, so a crash leaves the schema at one version or
 * the next, never between. The version is re-read under the write lock:
 * two processes (or nodes) starting at once must not both apply the same
 * step.
 */
static int
db_migrate(struct mf_db *db, int create)
{
	const struct mf_migration *m;
	size_t i, n;
	int have, rc, latest = db_latest_version(db);

	m = db_migrations(db, &n);
	if (db->pg) {
		/*
		 * An empty database is a missing file's equal: made into a log
		 * only when asked to (init, db migrate --to), never by a daemon
		 * pointed at the wrong database.
		 */
		if ((rc = db_query_int(db, "SELECT count(*) FROM information_schema.tables"
		    " WHERE table_name = 'mayfly_schema' AND table_schema = current_schema()",
		    &have)) != MF_OK)
			return rc;
		if (have == 0 && (!create || db->readonly))
			return MF_ERR_NOTFOUND;
		if (have == 0 && (rc = mf_sql_exec(db->h, "CREATE TABLE IF NOT EXISTS mayfly_schema"
		    " (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")) != MF_SQL_OK)
			return mf_db_err(rc);
	}
	if ((rc = db_version_get(db, &have)) != MF_OK)
		return db->pg && db->readonly ? MF_ERR_DB_SCHEMA : rc;
	if (have > latest)
		return MF_ERR_DB_SCHEMA;	/* written by a newer mayfly */
	if (have == latest)
		return MF_OK;
	if (db->readonly)
		return MF_ERR_DB_SCHEMA;	/* old schema and we may not upgrade it */
	for (;;) {
		if ((rc = mf_sql_begin(db->h, 1)) != MF_SQL_OK)
			return mf_db_err(rc);
		if ((rc = db_version_get(db, &have)) != MF_OK)
			goto fail;
		if (have > latest) {
			rc = MF_ERR_DB_SCHEMA;
			goto fail;
		}
		for (i = 0; i < n && m[i].version <= have; i++)
			;
		if (i == n)
			break;
		if (mf_sql_exec(db->h, m[i].sql) != MF_SQL_OK) {
			mf_err("event=db-migrate-failed version=%d why=\"%s\"", m[i].version,
			    mf_sql_errmsg(db->h));
			rc = MF_ERR_DB_SCHEMA;
			goto fail;
		}
		if ((rc = db_version_set(db, m[i].version)) != MF_OK)
			goto fail;
		if ((rc = mf_sql_commit(db->h)) != MF_SQL_OK) {
			rc = mf_db_err(rc);
			goto fail;
		}
	}
	return mf_db_err(mf_sql_commit(db->h));
fail:
	mf_sql_rollback(db->h);
	return rc;
}

/* Opens path read-only as an SQLite URI with immutable=1 (see mf_db_open). */
static int
db_open_immutable(const char *path, sqlite3 **h)
{
	static const char hex[] = "0123456789abcdef";
	char *uri, *q;
	const char *p;
	int rc;

	if ((uri = malloc(strlen(path) * 3 + 32)) == NULL)
		return MF_ERR_NOMEM;
	q = uri + sprintf(uri, "file:");
	for (p = path; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '%' || ch == '?' || ch == '#' || ch <= 0x20 || ch >= 0x7f) {
			*q++ = '%';
			*q++ = hex[ch >> 4];
			*q++ = hex[ch & 15];
		} else
			*q++ = (char)ch;
	}
	strcpy(q, "?immutable=1");
	rc = sqlite3_open_v2(uri, h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_URI, NULL);
	free(uri);
	return mf_db_err(rc);
}

/* Opens an SQLite handle and hands it to the storage layer. */
static int
db_open_sqlite(struct mf_db *db, const char *path, int immutable)
{
	sqlite3 *lite = NULL;
	int rc;

	if (immutable)
		rc = db_open_immutable(path, &lite);
	else
		rc = mf_db_err(sqlite3_open_v2(path, &lite, (db->readonly ? SQLITE_OPEN_READONLY :
		    SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX, NULL));
	if (lite != NULL && mf_sql_wrap_sqlite(lite, &db->h) != MF_SQL_OK) {
		sqlite3_close_v2(lite);
		return MF_ERR_NOMEM;
	}
	return rc;
}

static int
db_open_pg(struct mf_db *db, const char *uri)
{
	int rc;

	/* a password comes from libpq's passfile= / PGPASSFILE / PGPASSWORD */
	rc = mf_sql_open_pg(uri, db->readonly, &db->h, db->why, sizeof(db->why));
	if (rc == MF_SQL_MISUSE)
		return MF_ERR_INVAL;
	if (rc != MF_SQL_OK)
		return rc == MF_SQL_NOMEM ? MF_ERR_NOMEM : MF_ERR_DB_UNAVAILABLE;
	return MF_OK;
}

int
mf_db_open(const char *path, int flags, struct mf_db **out)
{
	struct mf_db *db = NULL;
	struct stat sb;
	int fd, rc, pg;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || *path == '\0')
		return MF_ERR_INVAL;
	pg = mf_sql_is_pg_uri(path);
	if (!pg && stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return MF_ERR_IO;
		if (!(flags & MF_DB_CREATE) || (flags & MF_DB_READONLY))
			return MF_ERR_NOTFOUND;
		/*
		 * Create the file ourselves so it starts private; SQLite gives
		 * the -wal and -shm files the mode of the database file.
		 */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return errno == ENOENT ? MF_ERR_NOTFOUND : MF_ERR_IO;
		if (fd >= 0)
			close(fd);
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return MF_ERR_NOMEM;
	db->readonly = (flags & MF_DB_READONLY) != 0;
	db->pg = pg;
	/* for messages: a URI never with its secrets */
	if ((db->path = strdup(mf_db_shown(path))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (pg) {
		if ((rc = db_open_pg(db, path)) != MF_OK) {
			mf_err("event=db-open-failed database=\"%s\" why=\"%s\"", db->path, db->why);
			goto out;
		}
		if ((rc = db_migrate(db, (flags & MF_DB_CREATE) != 0)) != MF_OK)
			goto out;
		*out = db;
		return MF_OK;
	}
	if ((rc = db_open_sqlite(db, path, 0)) != MF_OK)
		goto out;
	rc = db_settings(db);
	if (rc == MF_OK)
		rc = db_migrate(db, 1);
	if (rc != MF_OK && db->readonly &&
	    ((mf_sql_errcode(db->h) & 0xff) == MF_SQL_CANTOPEN ||
	    (mf_sql_errcode(db->h) & 0xff) == MF_SQL_READONLY)) {
		/*
		 * A copy on read-only media (an auditor's) cannot get the -shm
		 * file a WAL reader needs. Nobody writes such a copy, so read it
		 * as immutable; a live log never gets here, its readers can
		 * create -shm.
		 */
		mf_sql_close(db->h);
		db->h = NULL;
		if ((rc = db_open_sqlite(db, path, 1)) != MF_OK)
			goto out;
		if ((rc = db_settings(db)) != MF_OK || (rc = db_migrate(db, 1)) != MF_OK)
			goto out;
	}
	if (rc != MF_OK)
		goto out;
	*out = db;
	db = NULL;
out:
	mf_db_close(db);
	return rc;
}

void
mf_db_close(struct mf_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < MF_ST_N_; i++)
		mf_sql_finalize(db->st[i]);
	/* An open transaction is rolled back by the close. */
	mf_sql_close(db->h);
	free(db->path);
	free(db);
}

int
mf_db_schema_version(struct mf_db *db, int *version)
{
	if (db == NULL || version == NULL)
		return MF_ERR_INVAL;
	return db_version_get(db, version);
}

struct mf_sql *
mf_db_handle(struct mf_db *db)
{
	return db == NULL ? NULL : db->h;
}

const char *
mf_db_shown(const char *target)
{
	static __thread char buf[256];

	if (target == NULL || !mf_sql_is_pg_uri(target))
		return target != NULL ? target : "(none)";
	mf_sql_uri_redact(target, buf, sizeof(buf));
	return buf;
}

int
mf_db_is_pg(const struct mf_db *db)
{
	return db != NULL && db->pg;
}

const char *
mf_db_errmsg(struct mf_db *db)
{
	struct statvfs vfs;
	const char *what;
	char *dir, *slash;
	int code;

	if (db == NULL || db->h == NULL)
		return "no database";
	code = mf_sql_errcode(db->h);
	if (db->pg) {
		/* the server's words; the file system checks below are SQLite's */
		snprintf(db->why, sizeof(db->why), "%s: %s", db->path,
		    code == MF_SQL_IOERR_NOCONN ? "the database server cannot be reached" :
		    *mf_sql_errmsg(db->h) != '\0' ? mf_sql_errmsg(db->h) : "a query failed");
		return db->why;
	}
	/* Say the cause an operator acts on, in their words. */
	switch (code & 0xff) {
	case MF_SQL_FULL: what = "the disk is full"; break;
	case MF_SQL_READONLY: what = "the file or its directory is read-only"; break;
	case MF_SQL_CANTOPEN: what = "cannot open the file or its -wal/-shm files"; break;
	case MF_SQL_BUSY: what = "locked by another process for too long"; break;
	case MF_SQL_OK: what = NULL; break;
	default: what = mf_sql_errmsg(db->h); break;
	}
	if (what == NULL) {
		/*
		 * The failing statement was rolled back, which cleared SQLite's
		 * error: look at the file and its file system instead.
		 */
		if ((dir = strdup(db->path)) != NULL) {
			slash = strrchr(dir, '/');
			if (slash == dir)
				slash[1] = '\0';
			else if (slash != NULL)
				*slash = '\0';
			else
				strcpy(dir, ".");
		}
		if (dir != NULL && statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0)
			what = "the disk is full";
		else if (dir != NULL && statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
			what = "the file system is mounted read-only";
		else if (access(db->path, W_OK) != 0 || (dir != NULL && access(dir, W_OK) != 0))
			what = strerror(errno);
		else
			what = "a write failed (see the system log)";
		free(dir);
	}
	snprintf(db->why, sizeof(db->why), "%s: %s", db->path, what);
	return db->why;
}

const char *
mf_db_open_why(const char *path, int rc)
{
	if (rc == MF_ERR_NOTFOUND)
		return mf_sql_is_pg_uri(path) ? "the database holds no mayfly log (make one with "
		    "`mayfly db migrate --to`)" : "no such file";
	if (rc == MF_ERR_DB_UNAVAILABLE)
		return "cannot connect to the PostgreSQL server (see the log for its answer)";
	if (rc == MF_ERR_INVAL && mf_sql_is_pg_uri(path))
		return "the URI is malformed or holds a password (use passfile= in the URI, "
		    "PGPASSFILE or PGPASSWORD)";
	if (rc == MF_ERR_DB_SCHEMA)
		return "the schema is newer than this mayfly, or an old schema cannot be "
		    "upgraded read-only";
	if (rc == MF_ERR_IO && path != NULL && access(path, R_OK) != 0)
		return strerror(errno);
	if (rc == MF_ERR_DB)
		return "not an SQLite database, or a damaged one";
	return mf_strerror(rc);
}

int
mf_db_read_begin(struct mf_db *db)
{
	int rc;

	if (db == NULL || mf_sql_in_tx(db->h))
		return MF_ERR_INVAL;
	/*
	 * A deferred transaction takes its snapshot at the first read and keeps
	 * it to the end: in WAL mode writers go on, and every read in between
	 * sees the same log.
	 */
	if ((rc = mf_sql_begin(db->h, 0)) != MF_SQL_OK)
		return mf_db_err(rc);
	return MF_OK;
}

int
mf_db_read_end(struct mf_db *db)
{
	if (db == NULL)
		return MF_ERR_INVAL;
	if (!mf_sql_in_tx(db->h))
		return MF_OK;
	return mf_db_err(mf_sql_exec(db->h, "COMMIT"));
}

/* ---- explicit transactions (group commit) ------------------------------------ */

int
mf_db_begin(struct mf_db *db)
{
	if (db == NULL)
		return MF_ERR_INVAL;
	if (mf_sql_in_tx(db->h))
		return MF_ERR_INVAL;	/* one batch at a time */
	return mf_db_err(mf_sql_begin(db->h, 1));
}

int
mf_db_commit(struct mf_db *db)
{
	int rc;

	if (db == NULL || !mf_sql_in_tx(db->h))
		return MF_ERR_INVAL;
	if ((rc = mf_sql_exec(db->h, "COMMIT")) == MF_SQL_OK)
		return MF_OK;
	/*
	 * A failed commit must not leave the batch open for the next caller
	 * to commit by accident: nothing in it is durable, so say so and drop it.
	 */
	if (mf_sql_in_tx(db->h))
		mf_sql_exec(db->h, "ROLLBACK");
	return mf_db_err(rc);
}

int
mf_db_rollback(struct mf_db *db)
{
	if (db == NULL)
		return MF_ERR_INVAL;
	if (!mf_sql_in_tx(db->h))
		return MF_OK;	/* nothing open: harmless in cleanup paths */
	return mf_db_err(mf_sql_exec(db->h, "ROLLBACK"));
}

/* ---- certificates -------------------------------------------------------------- */

void
mf_cert_rec_free(struct mf_cert_rec *r)
{
	if (r == NULL)
		return;
	free(r->issuer);
	free(r->subject);
	free(r->sans);
	free(r->profile);
	free(r->requester);
	free(r->der);
	free(r);
}

/* Lower-cases a hex serial into out; 1..2*MF_SERIAL_MAX hex digits. */
static int
db_serial_norm(const char *in, char out[2 * MF_SERIAL_MAX + 1])
{
	size_t i, n;

	if (in == NULL || (n = strlen(in)) == 0 || n > 2 * MF_SERIAL_MAX)
		return MF_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return MF_ERR_INVAL;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	return MF_OK;
}

/* The certificate columns every query returns, in this order. */
#define CERT_SELECT \
	"SELECT c.serial, c.issuer, c.subject, c.sans, c.profile, c.not_before," \
	" c.not_after, c.requester, c.csr_sha256, c.der, c.issued_at," \
	" coalesce(r.revoked_at, 0), coalesce(r.reason, 0), coalesce(r.id, 0)" \
	" FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial "

static char *
db_col_strdup(mf_sql_stmt *st, int col)
{
	const unsigned char *t = mf_sql_column_text(st, col);

	return strdup(t != NULL ? (const char *)t : "");
}

/* Builds a record from the current row of a CERT_SELECT statement. */
static int
db_row_cert(mf_sql_stmt *st, struct mf_cert_rec **out)
{
	struct mf_cert_rec *r;
	const unsigned char *t;
	const void *b;
	int n, rc = MF_ERR_NOMEM;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MF_ERR_NOMEM;
	t = mf_sql_column_text(st, 0);
	if (t == NULL || strlen((const char *)t) >= sizeof(r->serial)) {
		rc = MF_ERR_DB;
		goto out;
	}
	memcpy(r->serial, t, strlen((const char *)t) + 1);
	if ((r->issuer = db_col_strdup(st, 1)) == NULL ||
	    (r->subject = db_col_strdup(st, 2)) == NULL ||
	    (r->sans = db_col_strdup(st, 3)) == NULL ||
	    (r->profile = db_col_strdup(st, 4)) == NULL ||
	    (r->requester = db_col_strdup(st, 7)) == NULL)
		goto out;
	r->not_before = mf_sql_column_int64(st, 5);
	r->not_after = mf_sql_column_int64(st, 6);
	b = mf_sql_column_blob(st, 8);
	if (b != NULL && mf_sql_column_bytes(st, 8) == (int)sizeof(r->csr_sha256))
		memcpy(r->csr_sha256, b, sizeof(r->csr_sha256));
	b = mf_sql_column_blob(st, 9);
	n = mf_sql_column_bytes(st, 9);
	/* A pruned row (mf_db_prune) keeps no DER: der NULL, der_len 0. */
	if (n > 0 && b != NULL) {
		if ((r->der = malloc((size_t)n)) == NULL)
			goto out;
		memcpy(r->der, b, (size_t)n);
		r->der_len = (size_t)n;
	}
	r->issued_at = mf_sql_column_int64(st, 10);
	r->revoked_at = mf_sql_column_int64(st, 11);
	r->reason = mf_sql_column_int(st, 12);
	*out = r;
	r = NULL;
	rc = MF_OK;
out:
	mf_cert_rec_free(r);
	return rc;
}

static void
db_sha256_hex(const unsigned char *p, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md)) {
		strcpy(hex, "-");
		return;
	}
	mf_hex(md, sizeof(md), hex);
}

int
mf_db_cert_insert(struct mf_db *db, const struct mf_cert_rec *r)
{
	static const char sql[] =
	    "INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before,"
	    " not_after, requester, csr_sha256, der, issued_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	char serial[2 * MF_SERIAL_MAX + 1], dersum[65], *detail = NULL;
	const char *sans;
	int64_t issued_at;
	int rc;

	if (db == NULL || r == NULL || r->issuer == NULL || r->subject == NULL ||
	    r->profile == NULL || r->requester == NULL || r->der == NULL || r->der_len == 0 ||
	    r->der_len > INT32_MAX || r->not_after <= r->not_before)
		return MF_ERR_INVAL;
	if ((rc = db_serial_norm(r->serial, serial)) != MF_OK)
		return rc;
	sans = r->sans != NULL ? r->sans : "";
	issued_at = r->issued_at != 0 ? r->issued_at : (int64_t)time(NULL);
	/* The audit row commits to the certificate's bytes, not just its name. */
	db_sha256_hex(r->der, r->der_len, dersum);
	if (asprintf(&detail, "serial=%s issuer=%s profile=%s not_before=%lld not_after=%lld"
	    " der_sha256=%s subject=\"%s\" sans=\"%s\"", serial, r->issuer, r->profile,
	    (long long)r->not_before, (long long)r->not_after, dersum, r->subject, sans) < 0) {
		detail = NULL;
		return MF_ERR_NOMEM;
	}

	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_db_stmt(db, MF_ST_CERT_INSERT, sql, &st)) != MF_OK)
		goto out;
	mf_sql_bind_text(st, 1, serial, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 2, r->issuer, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 3, r->subject, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 4, sans, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 5, r->profile, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 6, r->not_before);
	mf_sql_bind_int64(st, 7, r->not_after);
	mf_sql_bind_text(st, 8, r->requester, -1, MF_SQL_STATIC);
	mf_sql_bind_blob(st, 9, r->csr_sha256, sizeof(r->csr_sha256), MF_SQL_STATIC);
	mf_sql_bind_blob(st, 10, r->der, (int)r->der_len, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 11, issued_at);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_CONSTRAINT_UNIQUE || rc == MF_SQL_CONSTRAINT_PRIMARYKEY)
		rc = MF_ERR_SERIAL_DUP;
	else if ((rc & 0xff) == MF_SQL_CONSTRAINT)
		rc = MF_ERR_INVAL;
	else
		rc = mf_db_err(rc);
	mf_db_done(st);
	if (rc != MF_OK)
		goto out;
	rc = mf_db_audit_append(db, "issue", r->requester, detail);
out:
	rc = mf_db_tx_end(db, &tx, rc);
	free(detail);
	return rc;
}

static const char db_get_sql[] = CERT_SELECT "WHERE c.serial = ?1";

int
mf_db_cert_get(struct mf_db *db, const char *serial, struct mf_cert_rec **out)
{
	static const char *const sql = db_get_sql;
	mf_sql_stmt *st = NULL;
	char s[2 * MF_SERIAL_MAX + 1];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (db == NULL || out == NULL)
		return MF_ERR_INVAL;
	if (db_serial_norm(serial, s) != MF_OK)
		return MF_ERR_NOTFOUND;	/* no such serial can be stored */
	if ((rc = mf_db_stmt(db, MF_ST_CERT_GET, sql, &st)) != MF_OK)
		return rc;
	mf_sql_bind_text(st, 1, s, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW)
		rc = db_row_cert(st, out);
	else if (rc == MF_SQL_DONE)
		rc = MF_ERR_NOTFOUND;
	else
		rc = mf_db_err(rc);
	mf_db_done(st);
	return rc;
}

/* RFC 5280 5.3.1: 7 is unused and removeFromCRL (8) only exists in delta CRLs. */
static int
db_reason_ok(int reason)
{
	return reason >= 0 && reason <= 10 && reason != 7 && reason != 8;
}

int
mf_db_cert_revoke(struct mf_db *db, const char *serial, int reason, int64_t when,
    const char *actor)
{
	static const char sql_state[] =
	    "SELECT r.id FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial"
	    " WHERE c.serial = ?1";
	static const char sql_insert[] =
	    "INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES (?1, ?2, ?3, ?4)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	char s[2 * MF_SERIAL_MAX + 1], *detail = NULL;
	int rc;

	if (db == NULL || actor == NULL || !db_reason_ok(reason))
		return MF_ERR_INVAL;
	if (db_serial_norm(serial, s) != MF_OK)
		return MF_ERR_NOTFOUND;
	if (asprintf(&detail, "serial=%s reason=%d revoked_at=%lld", s, reason,
	    (long long)when) < 0) {
		detail = NULL;
		return MF_ERR_NOMEM;
	}
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_db_stmt(db, MF_ST_REVOKE_STATE, sql_state, &st)) != MF_OK)
		goto out;
	mf_sql_bind_text(st, 1, s, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW)
		rc = mf_sql_column_type(st, 0) == MF_SQL_NULL ? MF_OK : MF_ERR_REVOKED;
	else if (rc == MF_SQL_DONE)
		rc = MF_ERR_NOTFOUND;
	else
		rc = mf_db_err(rc);
	mf_db_done(st);
	if (rc != MF_OK)
		goto out;

	if ((rc = mf_db_stmt(db, MF_ST_REVOKE_INSERT, sql_insert, &st)) != MF_OK)
		goto out;
	mf_sql_bind_text(st, 1, s, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 2, when);
	mf_sql_bind_int(st, 3, reason);
	mf_sql_bind_text(st, 4, actor, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	/* The state check ran under the write lock, so a clash here is a bug. */
	rc = rc == MF_SQL_CONSTRAINT_UNIQUE ? MF_ERR_REVOKED : mf_db_err(rc);
	mf_db_done(st);
	if (rc != MF_OK)
		goto out;
	/*
	 * Every mayflyd on a PostgreSQL log LISTENs for this; delivered at
	 * commit, never for a revocation rolled back. (SQLite has no other
	 * node: its daemon polls the file.)
	 */
	if (db->pg && mf_sql_notify(db->h, "mayfly_revocation", s) != MF_SQL_OK) {
		rc = mf_db_err(mf_sql_errcode(db->h));
		goto out;
	}
	rc = mf_db_audit_append(db, "revoke", actor, detail);
out:
	rc = mf_db_tx_end(db, &tx, rc);
	free(detail);
	return rc;
}

/*
 * Steps a CERT_SELECT statement and hands each row to cb. The statements
 * of the list functions are prepared per call rather than cached, so a
 * callback may itself use the database (fetch, revoke) without stepping on
 * a statement that is still half-way through its rows.
 */
static int
db_walk(struct mf_db *db, const char *sql, int (*bind)(mf_sql_stmt *, const void *),
    const void *bindarg, int64_t *last, mf_cert_cb cb, void *arg)
{
	struct mf_cert_rec *r = NULL;
	mf_sql_stmt *st = NULL;
	int rc;

	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	if ((rc = bind(st, bindarg)) != MF_OK)
		goto out;
	for (;;) {
		rc = mf_sql_step(st);
		if (rc == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		if ((rc = db_row_cert(st, &r)) != MF_OK)
			break;
		if (last != NULL && mf_sql_column_int64(st, 13) > *last)
			*last = mf_sql_column_int64(st, 13);
		rc = cb(r, arg);
		mf_cert_rec_free(r);
		r = NULL;
		if (rc != 0)
			break;
	}
out:
	mf_sql_finalize(st);
	return rc;
}

struct db_list_args {
	int which;
	const char *like;
	const char *issuer;
	int64_t now;
};

static int
db_bind_list(mf_sql_stmt *st, const void *p)
{
	const struct db_list_args *a = p;

	mf_sql_bind_int(st, 1, a->which);
	mf_sql_bind_int64(st, 2, a->now);
	if (a->like != NULL)
		mf_sql_bind_text(st, 3, a->like, -1, MF_SQL_STATIC);
	return MF_OK;
}

#define CERT_LIKE " (CAST(?3 AS TEXT) IS NULL OR instr(lower(c.subject), lower(?3)) > 0" \
	" OR instr(lower(c.sans), lower(?3)) > 0)"
/*
 * One statement per filter, so each can use its index: the valid
 * certificates are what mayflyd's start-up and pre-sign passes walk,
 * and they must cost the live certificates, not the whole log (a year
 * of 24-hour certificates is millions of expired rows). INDEXED BY
 * keeps the planner from scanning in id order to save the sort.
 */
static const char *const db_list_sql[] = {
	[MF_LIST_ALL] = CERT_SELECT "WHERE ?1 = 0 AND ?2 = ?2 AND" CERT_LIKE
	    " ORDER BY c.id",
	[MF_LIST_VALID] = "SELECT c.serial, c.issuer, c.subject, c.sans, c.profile,"
	    " c.not_before, c.not_after, c.requester, c.csr_sha256, c.der, c.issued_at,"
	    " 0, 0, 0 FROM certificates c INDEXED BY certificates_not_after"
	    " WHERE ?1 = 1 AND c.not_after > ?2"
	    " AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial) AND"
	    CERT_LIKE " ORDER BY c.id",
	[MF_LIST_EXPIRED] = CERT_SELECT "WHERE ?1 = 2 AND c.not_after <= ?2 AND" CERT_LIKE
	    " ORDER BY c.id",
	[MF_LIST_REVOKED] = CERT_SELECT "WHERE ?1 = 3 AND ?2 = ?2 AND r.id IS NOT NULL AND"
	    CERT_LIKE " ORDER BY c.id",
	/* CROSS JOIN keeps the live certificates as the outer loop. */
	[MF_LIST_REVOKED_LIVE] = "SELECT c.serial, c.issuer, c.subject, c.sans, c.profile,"
	    " c.not_before, c.not_after, c.requester, c.csr_sha256, c.der, c.issued_at,"
	    " r.revoked_at, r.reason, r.id FROM certificates c INDEXED BY certificates_not_after"
	    " CROSS JOIN revocations r ON r.serial = c.serial"
	    " WHERE ?1 = 4 AND c.not_after > ?2 AND" CERT_LIKE " ORDER BY c.id",
};

int
mf_db_cert_list(struct mf_db *db, int which, const char *subject_like, int64_t now,
    mf_cert_cb cb, void *arg)
{
	/*
	 * instr() rather than LIKE so '%' and '_' in the filter are literal;
	 * lower() folds ASCII only, which is what DNS names need.
	 */
	struct db_list_args a = { which, subject_like, NULL, now };

	if (db == NULL || cb == NULL || which < MF_LIST_ALL || which > MF_LIST_REVOKED_LIVE)
		return MF_ERR_INVAL;
	return db_walk(db, db_list_sql[which], db_bind_list, &a, NULL, cb, arg);
}



/* An expired certificate's entry may leave the CRL (RFC 5280 3.3). */
static const char db_revoked_sql[] = CERT_SELECT
    "WHERE r.id IS NOT NULL AND c.issuer = ?1 AND c.not_after > ?2 ORDER BY r.id";

static int
db_bind_revoked(mf_sql_stmt *st, const void *p)
{
	const struct db_list_args *a = p;

	mf_sql_bind_text(st, 1, a->issuer, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 2, a->now);
	return MF_OK;
}

int
mf_db_revoked_list(struct mf_db *db, const char *issuer, int64_t now, mf_cert_cb cb,
    void *arg)
{
	struct db_list_args a = { 0, NULL, issuer, now };

	if (db == NULL || issuer == NULL || cb == NULL)
		return MF_ERR_INVAL;
	return db_walk(db, db_revoked_sql, db_bind_revoked, &a, NULL, cb, arg);
}

static const char db_since_sql[] = CERT_SELECT "WHERE r.id > ?1 ORDER BY r.id";
static const char db_rev_last_sql[] = "SELECT coalesce(max(id), 0) FROM revocations";
/* CERT_SELECT with the certificate's id in place of the revocation's. */
static const char db_certs_since_sql[] =
    "SELECT c.serial, c.issuer, c.subject, c.sans, c.profile, c.not_before,"
    " c.not_after, c.requester, c.csr_sha256, c.der, c.issued_at,"
    " coalesce(r.revoked_at, 0), coalesce(r.reason, 0), c.id"
    " FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial"
    " WHERE c.id > ?1 AND c.id <= ?2 ORDER BY c.id LIMIT 10000";
static const char db_cert_last_sql[] = "SELECT coalesce(max(id), 0) FROM certificates";

int
mf_db_cert_last(struct mf_db *db, int64_t *id)
{
	if (db == NULL || id == NULL)
		return MF_ERR_INVAL;
	return mf_db_query_int64(db, db_cert_last_sql, id);
}

int
mf_db_revocation_last(struct mf_db *db, int64_t *id)
{
	if (db == NULL || id == NULL)
		return MF_ERR_INVAL;
	return mf_db_query_int64(db, db_rev_last_sql, id);
}

static int
db_bind_since(mf_sql_stmt *st, const void *p)
{
	mf_sql_bind_int64(st, 1, *(const int64_t *)p);
	return MF_OK;
}

int
mf_db_revocations_since(struct mf_db *db, int64_t after, int64_t *last, mf_cert_cb cb,
    void *arg)
{
	int64_t seen = after;
	int rc;

	if (db == NULL || cb == NULL)
		return MF_ERR_INVAL;
	rc = db_walk(db, db_since_sql, db_bind_since, &after, &seen, cb, arg);
	if (last != NULL)
		*last = seen;
	return rc;
}

static int
db_bind_range(mf_sql_stmt *st, const void *p)
{
	const int64_t *r = p;

	mf_sql_bind_int64(st, 1, r[0]);
	mf_sql_bind_int64(st, 2, r[1]);
	return MF_OK;
}

int
mf_db_certs_since(struct mf_db *db, int64_t after, int64_t upto, int64_t *last, mf_cert_cb cb,
    void *arg)
{
	int64_t seen = after, range[2] = { after, upto };
	int rc;

	if (db == NULL || cb == NULL)
		return MF_ERR_INVAL;
	rc = db_walk(db, db_certs_since_sql, db_bind_range, range, &seen, cb, arg);
	if (last != NULL)
		*last = seen;
	return rc;
}

int
mf_db_crl_number_next(struct mf_db *db, const char *issuer, uint64_t *out)
{
	/* One statement, so the read-increment-write is atomic by itself. */
	static const char sql[] =
	    "INSERT INTO crl_numbers (issuer, number) VALUES (?1, 1)"
	    " ON CONFLICT (issuer) DO UPDATE SET number = crl_numbers.number + 1 RETURNING number";
	mf_sql_stmt *st = NULL;
	int64_t n = 0;
	int rc;

	if (db == NULL || issuer == NULL || out == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_db_stmt(db, MF_ST_CRL_NEXT, sql, &st)) != MF_OK)
		return rc;
	mf_sql_bind_text(st, 1, issuer, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	if (rc == MF_SQL_ROW) {
		n = mf_sql_column_int64(st, 0);
		rc = mf_sql_step(st);
	}
	rc = rc == MF_SQL_DONE && n > 0 ? MF_OK : mf_db_err(rc == MF_SQL_DONE ? MF_SQL_ERROR : rc);
	mf_db_done(st);
	if (rc == MF_OK)
		*out = (uint64_t)n;
	return rc;
}

/* ---- CA certificates ------------------------------------------------------------ */

void
mf_ca_rec_free(struct mf_ca_rec *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->kind);
	free(r->signed_by);
	free(r->key_uri);
	free(r->der);
	free(r);
}

int
mf_db_ca_insert(struct mf_db *db, const struct mf_ca_rec *r, const char *actor)
{
	static const char sql[] =
	    "INSERT INTO ca_certificates (name, kind, signed_by, key_uri, der, not_before,"
	    " not_after, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	char dersum[65], *detail = NULL;
	int rc;

	if (db == NULL || r == NULL || actor == NULL || r->name == NULL || r->kind == NULL ||
	    r->signed_by == NULL || r->key_uri == NULL || r->der == NULL || r->der_len == 0 ||
	    r->der_len > INT32_MAX)
		return MF_ERR_INVAL;
	db_sha256_hex(r->der, r->der_len, dersum);
	if (asprintf(&detail, "ca name=%s kind=%s signed_by=%s key_uri=%s not_before=%lld"
	    " not_after=%lld der_sha256=%s", r->name, r->kind, r->signed_by, r->key_uri,
	    (long long)r->not_before, (long long)r->not_after, dersum) < 0) {
		detail = NULL;
		return MF_ERR_NOMEM;
	}
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_db_stmt(db, MF_ST_CA_INSERT, sql, &st)) != MF_OK)
		goto out;
	mf_sql_bind_text(st, 1, r->name, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 2, r->kind, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 3, r->signed_by, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 4, r->key_uri, -1, MF_SQL_STATIC);
	mf_sql_bind_blob(st, 5, r->der, (int)r->der_len, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 6, r->not_before);
	mf_sql_bind_int64(st, 7, r->not_after);
	mf_sql_bind_int64(st, 8, (int64_t)time(NULL));
	rc = mf_sql_step(st);
	/* A kind outside the CHECK list is the caller's mistake. */
	rc = (rc & 0xff) == MF_SQL_CONSTRAINT ? MF_ERR_INVAL : mf_db_err(rc);
	mf_db_done(st);
	if (rc != MF_OK)
		goto out;
	rc = mf_db_audit_append(db, "ceremony", actor, detail);
out:
	rc = mf_db_tx_end(db, &tx, rc);
	free(detail);
	return rc;
}

int
mf_db_ca_list(struct mf_db *db, mf_ca_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT name, kind, signed_by, key_uri, der, not_before, not_after"
	    " FROM ca_certificates ORDER BY id";
	struct mf_ca_rec *r = NULL;
	mf_sql_stmt *st = NULL;
	const void *b;
	int n, rc;

	if (db == NULL || cb == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	for (;;) {
		if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		rc = MF_ERR_NOMEM;
		if ((r = calloc(1, sizeof(*r))) == NULL ||
		    (r->name = db_col_strdup(st, 0)) == NULL ||
		    (r->kind = db_col_strdup(st, 1)) == NULL ||
		    (r->signed_by = db_col_strdup(st, 2)) == NULL ||
		    (r->key_uri = db_col_strdup(st, 3)) == NULL)
			break;
		b = mf_sql_column_blob(st, 4);
		n = mf_sql_column_bytes(st, 4);
		if (b == NULL || n <= 0) {
			rc = MF_ERR_DB;
			break;
		}
		if ((r->der = malloc((size_t)n)) == NULL)
			break;
		memcpy(r->der, b, (size_t)n);
		r->der_len = (size_t)n;
		r->not_before = mf_sql_column_int64(st, 5);
		r->not_after = mf_sql_column_int64(st, 6);
		rc = cb(r, arg);
		mf_ca_rec_free(r);
		r = NULL;
		if (rc != 0)
			break;
	}
out:
	mf_ca_rec_free(r);
	mf_sql_finalize(st);
	return rc;
}

/* ---- query plans of the hot paths -------------------------------------------- */

/*
 * The statements mayflyd runs on every start, pre-sign pass, CRL build,
 * revocation and certificate poll, OCSP miss and prune batch. Each must reach its rows through an index
 * (or the rowid), never by scanning the certificates: check_db asserts it
 * with EXPLAIN QUERY PLAN, so a change that loses an index fails a test.
 */
static const struct mf_db_hot db_hot[] = {
	{ "certificate by serial (OCSP miss, show)", db_get_sql },
	{ "valid certificates (start-up, pre-sign)", NULL },
	{ "revoked, unexpired certificates (start-up, pre-sign)", NULL },
	{ "newest revocation (start-up)", db_rev_last_sql },
	{ "revoked, unexpired of one issuer (CRL)", db_revoked_sql },
	{ "revocations since (revocation poll)", db_since_sql },
	{ "newest certificate (start-up, certificate poll)", db_cert_last_sql },
	{ "certificates since (certificate poll)", db_certs_since_sql },
	{ "unpruned expired certificates (prune batch)", mf_db_prune_select_sql },
	{ "unpruned expired certificates (prune count)", mf_db_prune_count_sql },
};

const struct mf_db_hot *
mf_db_hot_queries(size_t *n)
{
	static struct mf_db_hot hot[sizeof(db_hot) / sizeof(db_hot[0])];
	size_t i;

	for (i = 0; i < sizeof(db_hot) / sizeof(db_hot[0]); i++) {
		hot[i] = db_hot[i];
		if (hot[i].sql == NULL)
			hot[i].sql = db_list_sql[strstr(hot[i].name, "revoked") != NULL ?
			    MF_LIST_REVOKED_LIVE : MF_LIST_VALID];
	}
	*n = i;
	return hot;
}

int
mf_db_explain(struct mf_db *db, const char *sql, char *out, size_t len)
{
	mf_sql_stmt *st = NULL;
	char *q = NULL;
	size_t off = 0;
	int rc;

	if (db == NULL || sql == NULL || out == NULL || len == 0)
		return MF_ERR_INVAL;
	out[0] = '\0';
	if (asprintf(&q, "EXPLAIN QUERY PLAN %s", sql) < 0)
		return MF_ERR_NOMEM;
	if ((rc = mf_sql_prepare(db->h, q, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	while ((rc = mf_sql_step(st)) == MF_SQL_ROW) {
		const unsigned char *d = mf_sql_column_text(st, 3);
		int n = snprintf(out + off, len - off, "%s%s", off ? "; " : "",
		    d != NULL ? (const char *)d : "");

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	rc = rc == MF_SQL_ROW || rc == MF_SQL_DONE ? MF_OK : mf_db_err(rc);
out:
	mf_sql_finalize(st);
	free(q);
	return rc;
}
