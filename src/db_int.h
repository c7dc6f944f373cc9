/*
 * db_int.h: what db.c and audit.c share and nobody else sees: the
 * connection struct, its cache of prepared statements, and nested
 * transactions. Other modules use db.h only.
 */
#ifndef MF_DB_INT_H
#define MF_DB_INT_H

#include "store/sql.h"

/* Slots of the statement cache; each is prepared on first use. */
enum mf_db_slot {
	MF_ST_CERT_INSERT,
	MF_ST_CERT_GET,
	MF_ST_REVOKE_STATE,
	MF_ST_REVOKE_INSERT,
	MF_ST_CRL_NEXT,
	MF_ST_CA_INSERT,
	MF_ST_AUDIT_LAST,
	MF_ST_AUDIT_INSERT,
	MF_ST_AUDIT_BYHASH,
	MF_ST_CA_REVOKED,
	MF_ST_N_
};

struct mf_db {
	struct mf_sql *h;
	int readonly;
	int pg;				/* PostgreSQL rather than SQLite */
	char *path;			/* the file, for messages */
	char why[512];			/* mf_db_errmsg's answer */
	mf_sql_stmt *st[MF_ST_N_];
};

/*
 * Returns the cached statement for slot, preparing sql on first use. The
 * statement is lent: the caller must mf_db_done() it before returning, so
 * the next user finds it reset and without bindings.
 */
int mf_db_stmt(struct mf_db *db, enum mf_db_slot slot, const char *sql, mf_sql_stmt **out);
void mf_db_done(mf_sql_stmt *st);

/*
 * A unit of work that is atomic whether or not the caller has a
 * transaction open: outside one it is BEGIN IMMEDIATE .. COMMIT, inside one
 * (group commit) a SAVEPOINT, so a failed insert in a batch undoes only
 * itself. mf_db_tx_end commits when rc is 0 and rolls back otherwise; it
 * returns rc, or the commit's error.
 */
struct mf_db_tx {
	int nested;
	int active;
};
int mf_db_tx_begin(struct mf_db *db, struct mf_db_tx *tx);
int mf_db_tx_end(struct mf_db *db, struct mf_db_tx *tx, int rc);

/* The first column of the one row sql answers; MF_ERR_DB if no row. */
int mf_db_query_int64(struct mf_db *db, const char *sql, int64_t *val);

/* Maps a storage-layer (SQLite-valued) result code to enum mf_err. */
int mf_db_err(int sqlite_rc);

/* Retention's reads (db_prune.c), listed among the hot queries (db.c). */
extern const char mf_db_prune_select_sql[];
extern const char mf_db_prune_count_sql[];

#endif
