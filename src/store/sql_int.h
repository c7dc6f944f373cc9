/*
 * sql_int.h: the connection and statement structs shared by the dispatch
 * (sql.c) and the PostgreSQL backend (sql_pg.c). Nobody else sees them.
 */
#ifndef MF_STORE_SQL_INT_H
#define MF_STORE_SQL_INT_H

#include "sql.h"

struct sqlite3_stmt;
struct pg_conn;
struct pg_result;

struct mf_sql {
	enum mf_sql_backend backend;
	struct sqlite3 *lite;
	/* PostgreSQL */
	struct pg_conn *pg;
	int readonly;
	int changes;
	int errcode;
	int tx_lost;		/* the connection went inside a transaction */
	unsigned gen;		/* bumped on each reconnect: named statements are gone */
	unsigned next_id;	/* names of prepared statements */
	char errmsg[512];
};

struct mf_sql_param {
	char *val;		/* NULL for SQL NULL */
	int len;
	int fmt;		/* 0 text, 1 binary */
	unsigned type;		/* its PostgreSQL type OID; 0: let the server infer */
	int owned;		/* val is ours to free */
	char num[24];		/* storage of an integer's text */
};

struct mf_sql_stmt {
	struct mf_sql *db;
	struct sqlite3_stmt *lite;
	/* PostgreSQL */
	char *sql;		/* rewritten text */
	int persistent;
	char name[32];
	unsigned prepared_gen;	/* db->gen when the named statement was made; 0 never */
	int nparams;
	struct mf_sql_param *params;
	struct pg_result *res;
	int row, nrows;
	char scratch[32];	/* text of a number asked for as text */
};

/* sql_pg.c */
void mf_sql_pg_close(struct mf_sql *db);
int mf_sql_pg_prepare(struct mf_sql *db, const char *sql, int flags, mf_sql_stmt **out);
int mf_sql_pg_step(mf_sql_stmt *st);
void mf_sql_pg_reset(mf_sql_stmt *st);
void mf_sql_pg_clear(mf_sql_stmt *st);
void mf_sql_pg_finalize(mf_sql_stmt *st);
int mf_sql_pg_bind(mf_sql_stmt *st, int i, const void *p, int n, int fmt, mf_sql_free_fn fn);
int mf_sql_pg_bind_int64(mf_sql_stmt *st, int i, int64_t v);
int64_t mf_sql_pg_column_int64(mf_sql_stmt *st, int i);
const unsigned char *mf_sql_pg_column_text(mf_sql_stmt *st, int i);
const void *mf_sql_pg_column_blob(mf_sql_stmt *st, int i);
int mf_sql_pg_column_bytes(mf_sql_stmt *st, int i);
int mf_sql_pg_column_type(mf_sql_stmt *st, int i);
int mf_sql_pg_column_count(mf_sql_stmt *st);
const char *mf_sql_pg_column_name(mf_sql_stmt *st, int i);
int mf_sql_pg_exec(struct mf_sql *db, const char *sql);
int mf_sql_pg_begin(struct mf_sql *db, int write);
int mf_sql_pg_in_tx(struct mf_sql *db);
int mf_sql_pg_ping(struct mf_sql *db);

/* Rewrites SQLite-dialect SQL for PostgreSQL; returns malloc'd text. */
char *mf_sql_pg_rewrite(const char *sql, int *nparams);

#endif
