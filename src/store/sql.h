/*
 * sql.h: the storage layer. Every module that runs SQL goes through these
 * calls, which have two backends: SQLite (the embedded default, one file)
 * and PostgreSQL through libpq (several mayflyd nodes on one database).
 *
 * The calls follow SQLite's statement model (prepare, bind, step, column)
 * because the code above was written against it, and the result codes are
 * SQLite's primary and extended codes, so a caller tests MF_SQL_ROW or
 * MF_SQL_CONSTRAINT whatever the backend. The PostgreSQL backend maps its
 * SQLSTATEs onto them (see sql_pg.c).
 *
 * SQL text is written once, in the dialect both engines share: numbered
 * parameters (?1, ?2 or ?), ON CONFLICT upserts, RETURNING. The PostgreSQL
 * backend rewrites the few SQLite spellings that have no common form:
 * ?N becomes $N, instr() becomes strpos(), the planner hints INDEXED BY
 * and CROSS JOIN become plain SQL, and X'..' becomes a bytea literal.
 * Anything else that differs lives in the per-backend migrations (sql/
 * and sql/pg/).
 */
#ifndef MF_STORE_SQL_H
#define MF_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

struct mf_sql;
typedef struct mf_sql_stmt mf_sql_stmt;
struct sqlite3;

enum mf_sql_backend {
	MF_SQL_SQLITE = 1,
	MF_SQL_PG = 2
};

/* Result codes: SQLite's values (checked at compile time in sql_sqlite.c). */
#define MF_SQL_OK		0
#define MF_SQL_ERROR		1
#define MF_SQL_BUSY		5
#define MF_SQL_LOCKED		6
#define MF_SQL_NOMEM		7
#define MF_SQL_READONLY		8
#define MF_SQL_IOERR		10
#define MF_SQL_CORRUPT		11
#define MF_SQL_FULL		13
#define MF_SQL_CANTOPEN		14
#define MF_SQL_CONSTRAINT	19
#define MF_SQL_MISUSE		21
#define MF_SQL_ROW		100
#define MF_SQL_DONE		101
#define MF_SQL_CONSTRAINT_PRIMARYKEY	(MF_SQL_CONSTRAINT | (6 << 8))
#define MF_SQL_CONSTRAINT_TRIGGER	(MF_SQL_CONSTRAINT | (7 << 8))
#define MF_SQL_CONSTRAINT_UNIQUE	(MF_SQL_CONSTRAINT | (8 << 8))
/* Ours, not SQLite's: the database server cannot be reached. */
#define MF_SQL_IOERR_NOCONN	(MF_SQL_IOERR | (200 << 8))

/* Column types, as sqlite3_column_type answers. */
#define MF_SQL_INTEGER	1
#define MF_SQL_FLOAT	2
#define MF_SQL_TEXT	3
#define MF_SQL_BLOB	4
#define MF_SQL_NULL	5

/* Lifetime of bound text and blobs: kept by the caller, or copied now. */
typedef void (*mf_sql_free_fn)(void *);
#define MF_SQL_STATIC		((mf_sql_free_fn)0)
#define MF_SQL_TRANSIENT	((mf_sql_free_fn)-1)

/* mf_sql_prepare flags */
#define MF_SQL_PERSISTENT	0x01	/* kept for many executions (a cache slot) */

/*
 * Wraps an open SQLite handle; the wrapper owns it from now on and closes
 * it in mf_sql_close.
 */
int mf_sql_wrap_sqlite(struct sqlite3 *h, struct mf_sql **out);

/*
 * Connects to PostgreSQL. uri is a postgresql:// URI or a conninfo string;
 * it must not hold a password (that comes from the URI's passfile=,
 * PGPASSFILE or PGPASSWORD, never from a command line or a log).
 * readonly makes every transaction read-only. On failure, why (if not
 * NULL) says what went wrong in words that never repeat a secret.
 */
int mf_sql_open_pg(const char *uri, int readonly, struct mf_sql **out, char *why,
    size_t whylen);

/* Whether target names a PostgreSQL database rather than an SQLite file. */
int mf_sql_is_pg_uri(const char *target);

/*
 * Writes into buf a form of uri fit for logs and messages: scheme, host,
 * port and database name only.
 */
void mf_sql_uri_redact(const char *uri, char *buf, size_t len);

void mf_sql_close(struct mf_sql *db);
enum mf_sql_backend mf_sql_backend(const struct mf_sql *db);
/* The SQLite handle, or NULL on another backend (for SQLite-only tuning). */
struct sqlite3 *mf_sql_sqlite(struct mf_sql *db);
/* SQLite: the WAL size in pages at which a commit of this connection checkpoints; else nothing. */
void mf_sql_checkpoint_pages(struct mf_sql *db, int pages);

int mf_sql_prepare(struct mf_sql *db, const char *sql, int flags, mf_sql_stmt **out);
int mf_sql_step(mf_sql_stmt *st);
int mf_sql_reset(mf_sql_stmt *st);
int mf_sql_clear_bindings(mf_sql_stmt *st);
int mf_sql_finalize(mf_sql_stmt *st);

int mf_sql_bind_int64(mf_sql_stmt *st, int i, int64_t v);
int mf_sql_bind_int(mf_sql_stmt *st, int i, int v);
int mf_sql_bind_text(mf_sql_stmt *st, int i, const char *s, int n, mf_sql_free_fn fn);
int mf_sql_bind_blob(mf_sql_stmt *st, int i, const void *p, int n, mf_sql_free_fn fn);
int mf_sql_bind_null(mf_sql_stmt *st, int i);

int64_t mf_sql_column_int64(mf_sql_stmt *st, int i);
int mf_sql_column_int(mf_sql_stmt *st, int i);
const unsigned char *mf_sql_column_text(mf_sql_stmt *st, int i);
const void *mf_sql_column_blob(mf_sql_stmt *st, int i);
int mf_sql_column_bytes(mf_sql_stmt *st, int i);
int mf_sql_column_type(mf_sql_stmt *st, int i);
int mf_sql_column_count(mf_sql_stmt *st);
const char *mf_sql_column_name(mf_sql_stmt *st, int i);

/* Runs one or more statements without parameters or results. */
int mf_sql_exec(struct mf_sql *db, const char *sql);

/*
 * Transactions. A write transaction takes the database's single writer
 * lock at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock
 * held to the end of the transaction), so the audit chain, CRL numbers
 * and trust bundle versions stay one total order across processes and
 * nodes. mf_sql_begin(db, 0) is a read snapshot.
 */
int mf_sql_begin(struct mf_sql *db, int write);
int mf_sql_commit(struct mf_sql *db);
int mf_sql_rollback(struct mf_sql *db);
int mf_sql_in_tx(struct mf_sql *db);

int mf_sql_changes(struct mf_sql *db);
int mf_sql_errcode(struct mf_sql *db);		/* extended code of the last failure */
const char *mf_sql_errmsg(struct mf_sql *db);
int mf_sql_readonly(struct mf_sql *db);		/* 1, 0 or -1 */
/* The errno of SQLite's last failed system call; 0 on PostgreSQL. */
int mf_sql_system_errno(struct mf_sql *db);

/*
 * PostgreSQL only: the descriptor to poll for notifications, LISTEN on a
 * channel, and take the next notification's payload (1 when one was
 * taken, 0 when none is pending, negative on a lost connection).
 */
int mf_sql_socket(struct mf_sql *db);
int mf_sql_listen(struct mf_sql *db, const char *channel);
int mf_sql_notify(struct mf_sql *db, const char *channel, const char *payload);
int mf_sql_notification(struct mf_sql *db, char *payload, size_t len);

/* Whether the connection is up now; PostgreSQL reconnects when it is not. */
int mf_sql_ping(struct mf_sql *db);

#endif
