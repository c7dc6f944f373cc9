/*
 * fixtures.h: shared test fixtures: private temporary directories, a real
 * SoftHSM2 token per test, file paths into the source and build trees.
 */
#ifndef MF_FIXTURES_H
#define MF_FIXTURES_H

#include <stddef.h>

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

#endif
