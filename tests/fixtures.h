/*
 * fixtures.h: shared test fixtures: private temporary directories, a real
 * SoftHSM2 token per test, file paths into the source and build trees.
 */
#ifndef MF_FIXTURES_H
#define MF_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh 0700 directory under $TMPDIR; caller frees (and may rm). */
char *mft_tmpdir(void);

/* rm -rf of a directory made by mft_tmpdir(). */
void mft_rmtree(const char *dir);

/* Path of a file in the source tree (tests/data/...), static buffer-free: caller frees. */
char *mft_srcpath(const char *rel);
/* Path of a file in the build tree (e.g. "mayfly"); caller frees. */
char *mft_buildpath(const char *rel);

/* Writes a small text file (0600); returns 0 or -1. */
int mft_write(const char *dir, const char *name, const char *text);

/*
 * A real SoftHSM2 token in dir: writes dir/softhsm2.conf (tokendir
 * dir/tokens), sets SOFTHSM2_CONF, initialises a token labelled label with
 * user PIN written to dir/hsm.pin (0600). Returns 0, or -1 if SoftHSM2 is
 * not installed (the caller then fails the test: no silent skip).
 */
int mft_softhsm_setup(const char *dir, const char *label);

/* Runs a shell command line; returns its exit status, or -1. Output in *out if out. */
int mft_run(const char *cmd, char **out);

/*
 * PostgreSQL: admin is the URI of a cluster's "postgres" database (as
 * tests/pg/pgcluster.sh exports it in MAYFLY_TEST_PG). Creates an empty
 * database name and gives its URI (caller frees); drops one (any session
 * still on it is ended). Return 0 or -1.
 */
int mft_pg_createdb(const char *admin, const char *name, char **uri);
int mft_pg_dropdb(const char *admin, const char *name);

/*
 * The daemon's and the ACME listener's suites on either backend: with
 * MAYFLY_TEST_ON_PG=1 and MAYFLY_TEST_PG (tests/pg/on-pg-check.sh sets
 * both) every test directory gets a PostgreSQL database of its own
 * instead of dir/mayfly.db. mft_on_pg says which.
 */
int mft_on_pg(void);
/*
 * The log of test directory dir into buf: dir/mayfly.db, or on PostgreSQL
 * the URI of a fresh database made at the first call for dir (its name
 * kept in dir/pg.db for the later calls; with schema, migrated as
 * `mayfly init` leaves a log). 0 or -1.
 */
int mft_db_target(const char *dir, int schema, char *buf, size_t len);
/* Drops dir's PostgreSQL database if it has one (mft_rmtree does it too). */
void mft_db_drop(const char *dir);
/* Points the database: line of the YAML file yaml at target (0 or -1). */
int mft_yaml_db(const char *yaml, const char *target);
/*
 * After `mayfly init` in dir: on PostgreSQL, copies dir's SQLite log into
 * dir's database (`mayfly db migrate --to`, which proves the copy) and
 * points dir/mayfly.yaml at it. On SQLite nothing. 0 or -1.
 */
int mft_db_onpg(const char *dir);
/* One integer from a query on dir's log (either backend), or -1. */
int64_t mft_db_int(const char *dir, const char *sql);
/* One statement with text parameters on dir's log; rows changed or -1. */
int mft_db_exec(const char *dir, const char *sql, const char *const *args, int nargs);

#endif
