/*
 * check_db.c: the issuance log on real SQLite files in private temporary
 * directories: migration and version refusal, durability settings, the
 * certificate, revocation, CRL-number and CA queries, group commit and
 * rollback, and the audit chain against edits made behind its back with
 * raw SQL (after dropping the append-only triggers, as an attacker would).
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "store/sql.h"
#include "store/sql_int.h"
#include "fixtures.h"
#include "mferr.h"
#include "suites.h"
#include "util.h"

static char *tdir;
static char *dbpath;
static char pgname[64];	/* the PostgreSQL database of this test, or "" */

static void
setup(void)
{
	tdir = mft_tmpdir();
	ck_assert_ptr_nonnull(tdir);
	dbpath = mf_path_join(tdir, "mayfly.db");
	ck_assert_ptr_nonnull(dbpath);
}

/*
 * The same tests on PostgreSQL: a fresh, empty database per test in the
 * cluster tests/pg/pgcluster.sh started (MAYFLY_TEST_PG names its
 * "postgres" database), dropped afterwards.
 */
static void
setup_pg(void)
{
	static unsigned n;
	const char *admin = getenv("MAYFLY_TEST_PG");

	setup();
	free(dbpath);
	ck_assert_ptr_nonnull(admin);
	snprintf(pgname, sizeof(pgname), "mft_db_%ld_%u", (long)getpid(), n++);
	ck_assert_int_eq(mft_pg_createdb(admin, pgname, &dbpath), 0);
}

static void
teardown(void)
{
	if (pgname[0] != '\0')
		mft_pg_dropdb(getenv("MAYFLY_TEST_PG"), pgname);
	pgname[0] = '\0';
	mft_rmtree(tdir);
	free(tdir);
	free(dbpath);
	tdir = dbpath = NULL;
}

static struct mf_db *
open_new(void)
{
	struct mf_db *db = NULL;

	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_CREATE, &db), MF_OK);
	ck_assert_ptr_nonnull(db);
	return db;
}

static const unsigned char fake_der[] = { 0x30, 0x03, 0x02, 0x01, 0x2a };

/* A record with borrowed strings; good enough for insert. */
static void
rec_init(struct mf_cert_rec *r, const char *serial, const char *issuer, const char *subject,
    const char *sans, int64_t nb, int64_t na)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->serial, sizeof(r->serial), "%s", serial);
	r->issuer = (char *)issuer;
	r->subject = (char *)subject;
	r->sans = (char *)sans;
	r->profile = (char *)"server";
	r->not_before = nb;
	r->not_after = na;
	r->requester = (char *)"cli:test";
	memset(r->csr_sha256, 0xab, sizeof(r->csr_sha256));
	r->der = (unsigned char *)fake_der;
	r->der_len = sizeof(fake_der);
	r->issued_at = nb;
}

/* A CA record with borrowed strings, valid 1000..2000, DER fake_der. */
static void
ca_rec_init(struct mf_ca_rec *r, const char *name, const char *kind, const char *signed_by,
    const char *key_uri)
{
	memset(r, 0, sizeof(*r));
	r->name = (char *)name;
	r->kind = (char *)kind;
	r->signed_by = (char *)signed_by;
	r->key_uri = (char *)key_uri;
	r->der = (unsigned char *)fake_der;
	r->der_len = sizeof(fake_der);
	r->not_before = 1000;
	r->not_after = 2000;
}

static void
insert_simple(struct mf_db *db, const char *serial, int64_t nb, int64_t na)
{
	struct mf_cert_rec r;

	rec_init(&r, serial, "issuing-1", "CN=host.example.com", "DNS:host.example.com", nb, na);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_OK);
}

/* Collects the serials a walk visits, comma-separated. */
struct collect {
	char buf[512];
	int n;
	int stop_at;		/* return 42 at this count (0: never) */
};

static int
collect_cb(const struct mf_cert_rec *r, void *arg)
{
	struct collect *c = arg;
	size_t len = strlen(c->buf);

	snprintf(c->buf + len, sizeof(c->buf) - len, "%s%s", c->n ? "," : "", r->serial);
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at ? 42 : 0;
}

static int64_t
raw_count(struct mf_db *db, const char *sql)
{
	mf_sql_stmt *st = NULL;
	int64_t n;

	ck_assert_int_eq(mf_sql_prepare(mf_db_handle(db), sql, 0, &st), MF_SQL_OK);
	ck_assert_int_eq(mf_sql_step(st), MF_SQL_ROW);
	n = mf_sql_column_int64(st, 0);
	mf_sql_finalize(st);
	return n;
}

static void
raw_exec(struct mf_db *db, const char *sql)
{
	int rc = mf_sql_exec(mf_db_handle(db), sql);

	ck_assert_msg(rc == MF_SQL_OK, "%s: %s", sql, mf_sql_errmsg(mf_db_handle(db)));
}

/* ---- opening ---------------------------------------------------------------- */

START_TEST(test_open_migrate_reopen)
{
	struct mf_db *db = NULL;
	struct stat sb;
	int v = -1, v2 = -1;

	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_ERR_NOTFOUND);
	ck_assert_ptr_null(db);
	db = open_new();
	ck_assert_int_eq(mf_db_schema_version(db, &v), MF_OK);
	ck_assert_int_ge(v, 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('certificates', 'revocations', 'ca_certificates', 'crl_numbers', 'audit_log')"), 5);
	insert_simple(db, "01", 1000, 2000);
	mf_db_close(db);

	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);

	db = NULL;
	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_OK);
	ck_assert_int_eq(mf_db_schema_version(db, &v2), MF_OK);
	ck_assert_int_eq(v2, v);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates"), 1);
	mf_db_close(db);
	mf_db_close(NULL);
}
END_TEST

START_TEST(test_schema_too_new)
{
	struct mf_db *db = open_new();

	raw_exec(db, "PRAGMA user_version = 999");
	mf_db_close(db);
	db = (struct mf_db *)&db;	/* must be reset to NULL on failure */
	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_ERR_DB_SCHEMA);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_READONLY, &db), MF_ERR_DB_SCHEMA);
}
END_TEST

START_TEST(test_not_a_database)
{
	struct mf_db *db = NULL;

	ck_assert_int_eq(mft_write(tdir, "mayfly.db", "this is not sqlite, just text\n"), 0);
	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_CREATE, &db), MF_ERR_DB);
	ck_assert_ptr_null(db);
}
END_TEST

START_TEST(test_pragmas)
{
	struct mf_db *db = open_new();
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(mf_sql_sqlite(mf_db_handle(db)), "PRAGMA journal_mode", -1, &st,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	ck_assert_int_eq(raw_count(db, "PRAGMA synchronous"), 2);	/* FULL */
	ck_assert_int_eq(raw_count(db, "PRAGMA foreign_keys"), 1);
	/* The busy handler of db.c, not SQLite's timeout, waits for the write lock. */
	ck_assert_int_eq(raw_count(db, "PRAGMA busy_timeout"), 0);
	mf_db_close(db);
}
END_TEST

/* Short sleeps first, none above 2 ms, and SQLITE_BUSY after 5 s of them. */
START_TEST(test_busy_schedule)
{
	long long total = 0;
	long d;
	int i;

	ck_assert_int_le(mf_db_busy_sleep_us(0), 100);
	for (i = 0; (d = mf_db_busy_sleep_us(i)) >= 0; i++) {
		ck_assert_int_gt(d, 0);
		ck_assert_int_le(d, 2000);
		total += d;
		ck_assert_int_lt(i, 10000);
	}
	ck_assert_int_ge(total, 5000000);
	ck_assert_int_le(total, 5002000);
}
END_TEST

struct busy_hold {
	const char *path;
	int ms;
	int rc;
};

static void *
hold_write_lock(void *arg)
{
	struct busy_hold *h = arg;
	sqlite3 *lite = NULL;

	h->rc = sqlite3_open(h->path, &lite);
	if (h->rc == SQLITE_OK)
		h->rc = sqlite3_exec(lite, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	usleep((useconds_t)h->ms * 1000);
	if (h->rc == SQLITE_OK)
		h->rc = sqlite3_exec(lite, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(lite);
	return NULL;
}

/* A write lock held elsewhere for 200 ms is waited for, not an error. */
START_TEST(test_busy_waits)
{
	struct mf_db *db = open_new();
	struct busy_hold h = { dbpath, 200, -1 };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, hold_write_lock, &h), 0);
	usleep(50000);
	insert_simple(db, "0c", 1000, 2000);
	pthread_join(t, NULL);
	ck_assert_int_eq(h.rc, SQLITE_OK);
	mf_db_close(db);
}
END_TEST

START_TEST(test_readonly)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec r, *got = NULL;

	insert_simple(db, "0a", 1000, 2000);
	mf_db_close(db);
	db = NULL;
	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_READONLY, &db), MF_OK);
	ck_assert_int_eq(mf_db_cert_get(db, "0A", &got), MF_OK);
	mf_cert_rec_free(got);
	rec_init(&r, "0b", "issuing-1", "CN=x", "", 1000, 2000);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_DB);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, NULL, 0), MF_OK);
	mf_db_close(db);
}
END_TEST

/* ---- certificates --------------------------------------------------------------- */

START_TEST(test_insert_get_dup)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec r, *got = NULL;

	rec_init(&r, "7F3A00c1", "issuing-1", "CN=gw1.example.com,O=Example",
	    "DNS:gw1.example.com,IP:192.0.2.1", 1700000000, 1700086400);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_OK);

	ck_assert_int_eq(mf_db_cert_get(db, "7f3a00C1", &got), MF_OK);
	ck_assert_str_eq(got->serial, "7f3a00c1");
	ck_assert_str_eq(got->issuer, "issuing-1");
	ck_assert_str_eq(got->subject, "CN=gw1.example.com,O=Example");
	ck_assert_str_eq(got->sans, "DNS:gw1.example.com,IP:192.0.2.1");
	ck_assert_str_eq(got->profile, "server");
	ck_assert_str_eq(got->requester, "cli:test");
	ck_assert_int_eq(got->not_before, 1700000000);
	ck_assert_int_eq(got->not_after, 1700086400);
	ck_assert_int_eq(got->issued_at, 1700000000);
	ck_assert_int_eq(got->revoked_at, 0);
	ck_assert_uint_eq(got->der_len, sizeof(fake_der));
	ck_assert_mem_eq(got->der, fake_der, sizeof(fake_der));
	ck_assert_mem_eq(got->csr_sha256, r.csr_sha256, 32);
	mf_cert_rec_free(got);
	got = NULL;

	/* The same serial in another case is the same serial. */
	rec_init(&r, "7f3a00C1", "issuing-1", "CN=other", "", 1700000000, 1700086400);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_SERIAL_DUP);
	/* The refused insert left no audit row behind. */
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates"), 1);

	ck_assert_int_eq(mf_db_cert_get(db, "7f3a00c2", &got), MF_ERR_NOTFOUND);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(mf_db_cert_get(db, "not-hex", &got), MF_ERR_NOTFOUND);

	/* Malformed records are the caller's error, not a DB error. */
	rec_init(&r, "zz", "issuing-1", "CN=x", "", 1, 2);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_INVAL);
	rec_init(&r, "0c", "issuing-1", "CN=x", "", 2, 2);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_INVAL);
	rec_init(&r, "0d", "issuing-1", "CN=x", "", 1, 2);
	r.der = NULL;
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_INVAL);
	mf_db_close(db);
}
END_TEST

START_TEST(test_list_filters)
{
	struct mf_db *db = open_new();
	struct collect c;
	struct mf_cert_rec r;
	int64_t now = 1800000000;

	insert_simple(db, "a1", now - 3600, now + 3600);	/* valid */
	insert_simple(db, "a2", now - 7200, now - 10);		/* expired */
	insert_simple(db, "a3", now - 3600, now + 3600);	/* revoked below */
	rec_init(&r, "a4", "issuing-1", "CN=Gateway-7", "DNS:gw7.devices.example.com",
	    now - 60, now + 60);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_OK);
	insert_simple(db, "a5", now - 7200, now - 1);		/* expired and revoked */
	ck_assert_int_eq(mf_db_cert_revoke(db, "a3", 1, now - 5, "cli:test"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "a5", 4, now - 5, "cli:test"), MF_OK);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, NULL, now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "a1,a2,a3,a4,a5");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_VALID, NULL, now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "a1,a4");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_EXPIRED, NULL, now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "a2,a5");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_REVOKED, NULL, now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "a3,a5");
	/* mayflyd's pre-sign pass: revoked and not yet expired, with the revocation. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_REVOKED_LIVE, NULL, now, collect_cb, &c),
	    MF_OK);
	ck_assert_str_eq(c.buf, "a3");
	{
		int64_t last = -1;

		ck_assert_int_eq(mf_db_revocation_last(db, &last), MF_OK);
		ck_assert_int_eq(last, 2);
	}
	/* A valid certificate becomes expired exactly at not_after. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_VALID, NULL, now + 60, collect_cb, &c),
	    MF_OK);
	ck_assert_str_eq(c.buf, "a1");

	/* Substring of subject or SANs, case-insensitive, '%' literal. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, "gateway", now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "a4");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, "GW7.DEVICES", now, collect_cb, &c),
	    MF_OK);
	ck_assert_str_eq(c.buf, "a4");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, "%", now, collect_cb, &c), MF_OK);
	ck_assert_int_eq(c.n, 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_VALID, "host.example", now, collect_cb, &c),
	    MF_OK);
	ck_assert_str_eq(c.buf, "a1");

	/* The callback stops the walk and its value comes back. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, NULL, now, collect_cb, &c), 42);
	ck_assert_int_eq(c.n, 2);

	ck_assert_int_eq(mf_db_cert_list(db, 9, NULL, now, collect_cb, &c), MF_ERR_INVAL);
	mf_db_close(db);
}
END_TEST

START_TEST(test_revoke)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec *got = NULL;

	insert_simple(db, "b1", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_revoke(db, "B1", 1, 1234, "cli:alice"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "b1", 4, 1300, "cli:alice"), MF_ERR_REVOKED);
	ck_assert_int_eq(mf_db_cert_revoke(db, "b2", 1, 1234, "cli:alice"), MF_ERR_NOTFOUND);
	ck_assert_int_eq(mf_db_cert_get(db, "b1", &got), MF_OK);
	ck_assert_int_eq(got->revoked_at, 1234);
	ck_assert_int_eq(got->reason, 1);
	mf_cert_rec_free(got);
	/* Reason 7 does not exist and 8 belongs to delta CRLs only. */
	insert_simple(db, "b3", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_revoke(db, "b3", 7, 1234, "cli:alice"), MF_ERR_INVAL);
	ck_assert_int_eq(mf_db_cert_revoke(db, "b3", 8, 1234, "cli:alice"), MF_ERR_INVAL);
	ck_assert_int_eq(mf_db_cert_revoke(db, "b3", 0, 1234, NULL), MF_ERR_INVAL);
	/* issue b1, revoke b1, issue b3: failed revocations wrote no audit rows. */
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log"), 3);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE event = 'revoke'"
	    " AND actor = 'cli:alice' AND detail LIKE 'serial=b1 reason=1 %'"), 1);
	mf_db_close(db);
}
END_TEST

START_TEST(test_revoked_list)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec r;
	struct collect c;
	int64_t now = 1800000000;

	insert_simple(db, "c1", now - 100, now + 100);
	insert_simple(db, "c2", now - 100, now - 1);		/* expired */
	insert_simple(db, "c3", now - 100, now + 100);
	insert_simple(db, "c4", now - 100, now + 100);		/* not revoked */
	rec_init(&r, "c5", "issuing-2", "CN=x", "", now - 100, now + 100);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "c3", 1, now - 10, "t"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "c2", 1, now - 10, "t"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "c1", 1, now - 10, "t"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "c5", 1, now - 10, "t"), MF_OK);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revoked_list(db, "issuing-1", now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "c3,c1");	/* in revocation order; c2 expired, c5 other CA */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revoked_list(db, "issuing-1", now + 100, collect_cb, &c), MF_OK);
	ck_assert_int_eq(c.n, 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revoked_list(db, "issuing-2", now, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "c5");
	mf_db_close(db);
}
END_TEST

START_TEST(test_revocations_since)
{
	struct mf_db *db = open_new();
	struct collect c;
	int64_t last = -1, last2 = -1;

	insert_simple(db, "d1", 1000, 5000);
	insert_simple(db, "d2", 1000, 5000);
	insert_simple(db, "d3", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_revoke(db, "d2", 1, 2000, "t"), MF_OK);
	ck_assert_int_eq(mf_db_cert_revoke(db, "d1", 1, 2001, "t"), MF_OK);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revocations_since(db, 0, &last, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "d2,d1");
	ck_assert_int_gt(last, 0);

	/* Nothing new: last stays where it was. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revocations_since(db, last, &last2, collect_cb, &c), MF_OK);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(last2, last);

	ck_assert_int_eq(mf_db_cert_revoke(db, "d3", 1, 2002, "t"), MF_OK);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_revocations_since(db, last, &last2, collect_cb, &c), MF_OK);
	ck_assert_str_eq(c.buf, "d3");
	ck_assert_int_gt(last2, last);
	mf_db_close(db);
}
END_TEST

START_TEST(test_crl_number)
{
	struct mf_db *db = open_new();
	uint64_t n = 0;

	ck_assert_int_eq(mf_db_crl_number_next(db, "issuing-1", &n), MF_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mf_db_crl_number_next(db, "issuing-1", &n), MF_OK);
	ck_assert_uint_eq(n, 2);
	mf_db_close(db);
	db = NULL;
	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_OK);
	ck_assert_int_eq(mf_db_crl_number_next(db, "issuing-1", &n), MF_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(mf_db_crl_number_next(db, "root-a", &n), MF_OK);
	ck_assert_uint_eq(n, 1);
	mf_db_close(db);
}
END_TEST

struct ca_collect {
	char names[256];
	int n;
};

static int
ca_cb(const struct mf_ca_rec *r, void *arg)
{
	struct ca_collect *c = arg;
	size_t len = strlen(c->names);

	ck_assert_uint_eq(r->der_len, sizeof(fake_der));
	snprintf(c->names + len, sizeof(c->names) - len, "%s%s/%s/%s/%s", c->n ? "," : "",
	    r->name, r->kind, r->signed_by, r->key_uri);
	c->n++;
	return 0;
}

START_TEST(test_ca)
{
	struct mf_db *db = open_new();
	struct mf_ca_rec r;
	struct ca_collect c;

	ca_rec_init(&r, "root-a", "root", "root-a", "pkcs11:token=mayfly;object=root-a");
	ck_assert_int_eq(mf_db_ca_insert(db, &r, "cli:ceremony"), MF_OK);
	r.name = (char *)"issuing-1";
	r.kind = (char *)"intermediate";
	r.key_uri = (char *)"file:keys/issuing-1.pem";
	ck_assert_int_eq(mf_db_ca_insert(db, &r, "cli:ceremony"), MF_OK);
	r.kind = (char *)"leaf";
	ck_assert_int_eq(mf_db_ca_insert(db, &r, "cli:ceremony"), MF_ERR_INVAL);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mf_db_ca_list(db, ca_cb, &c), MF_OK);
	ck_assert_str_eq(c.names, "root-a/root/root-a/pkcs11:token=mayfly;object=root-a,"
	    "issuing-1/intermediate/root-a/file:keys/issuing-1.pem");
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE event = 'ceremony'"),
	    2);
	mf_db_close(db);
}
END_TEST

/* ---- transactions ------------------------------------------------------------------ */

START_TEST(test_group_commit)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec r;
	char serial[16];
	int64_t rows = 0;
	int i;

	ck_assert_int_eq(mf_db_begin(db), MF_OK);
	ck_assert_int_eq(mf_db_begin(db), MF_ERR_INVAL);	/* one batch at a time */
	for (i = 0; i < 50; i++) {
		snprintf(serial, sizeof(serial), "%04x", i);
		insert_simple(db, serial, 1000, 5000);
	}
	/* A duplicate inside the batch fails alone; the batch goes on. */
	rec_init(&r, "0007", "issuing-1", "CN=x", "", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_insert(db, &r), MF_ERR_SERIAL_DUP);
	insert_simple(db, "ffff", 1000, 5000);
	ck_assert_int_eq(mf_db_commit(db), MF_OK);
	ck_assert_int_eq(mf_db_commit(db), MF_ERR_INVAL);	/* nothing open */
	mf_db_close(db);

	db = NULL;
	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_OK);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates"), 51);
	ck_assert_int_eq(mf_db_audit_verify(db, &rows, NULL, NULL, 0), MF_OK);
	ck_assert_int_eq(rows, 51);
	mf_db_close(db);
}
END_TEST

START_TEST(test_rollback)
{
	struct mf_db *db = open_new();
	struct mf_cert_rec *got = NULL;
	uint64_t n = 0;

	insert_simple(db, "e0", 1000, 5000);
	ck_assert_int_eq(mf_db_begin(db), MF_OK);
	insert_simple(db, "e1", 1000, 5000);
	insert_simple(db, "e2", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_revoke(db, "e0", 1, 2000, "t"), MF_OK);
	ck_assert_int_eq(mf_db_crl_number_next(db, "issuing-1", &n), MF_OK);
	ck_assert_int_eq(mf_db_rollback(db), MF_OK);
	ck_assert_int_eq(mf_db_rollback(db), MF_OK);	/* harmless twice */

	ck_assert_int_eq(mf_db_cert_get(db, "e1", &got), MF_ERR_NOTFOUND);
	ck_assert_int_eq(mf_db_cert_get(db, "e0", &got), MF_OK);
	ck_assert_int_eq(got->revoked_at, 0);
	mf_cert_rec_free(got);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM revocations"), 0);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log"), 1);
	ck_assert_int_eq(mf_db_crl_number_next(db, "issuing-1", &n), MF_OK);
	ck_assert_uint_eq(n, 1);
	/* The chain goes on from the last committed row. */
	insert_simple(db, "e3", 1000, 5000);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, NULL, 0), MF_OK);
	mf_db_close(db);
}
END_TEST

/*
 * Two processes writing at once: the second waits on the busy timeout
 * instead of failing, and the audit chain stays one chain. The fork comes
 * while no connection is open, as SQLite requires.
 *
 * Synchronised on events, not on measured durations: the child says (pipe
 * "ready") just before its insert; the parent, still holding the write
 * lock, gives it time to run into the lock and then checks that the child
 * has not finished (it is waiting, not failed) before committing. A child
 * that does not wait fails with MF_ERR_DB_BUSY at once and exits before
 * the commit; a child descheduled for long only makes the test weaker,
 * never fail.
 */
START_TEST(test_two_writers)
{
	struct mf_db *db = open_new();
	int go[2], ready[2], status = -1;
	int64_t rows = 0;
	char c = 'x';
	pid_t pid;

	mf_db_close(db);
	db = NULL;
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mf_cert_rec r;
		int rc;

		close(go[1]);
		close(ready[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		if (mf_db_open(dbpath, 0, &db) != MF_OK)
			_exit(4);
		rec_init(&r, "c1", "issuing-1", "CN=child", "", 1000, 5000);
		if (write(ready[1], &c, 1) != 1)
			_exit(5);
		rc = mf_db_cert_insert(db, &r);
		mf_db_close(db);
		_exit(rc == MF_OK ? 0 : rc == MF_ERR_DB_BUSY ? 6 : 1);
	}
	close(go[0]);
	close(ready[1]);
	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_OK);
	ck_assert_int_eq(mf_db_begin(db), MF_OK);
	insert_simple(db, "f1", 1000, 5000);
	ck_assert_int_eq(write(go[1], &c, 1), 1);
	close(go[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	/* Well below the busy timeout (5 s): the child is inside its insert. */
	usleep(300 * 1000);
	ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
	    "the second writer finished while the first held the lock (exit %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ck_assert_int_eq(mf_db_commit(db), MF_OK);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates"), 2);
	/* The child's row came after the parent's commit. */
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates WHERE id >"
	    " (SELECT id FROM certificates WHERE serial = 'f1') AND serial = 'c1'"), 1);
	ck_assert_int_eq(mf_db_audit_verify(db, &rows, NULL, NULL, 0), MF_OK);
	ck_assert_int_eq(rows, 2);
	mf_db_close(db);
}
END_TEST

/* ---- the audit chain ----------------------------------------------------------------- */

/* Five audit rows: issue e1..e4, revoke e2. */
static struct mf_db *
audit_db(void)
{
	struct mf_db *db = open_new();
	int64_t rows = 0, bad = -1;
	char why[160] = "x";

	insert_simple(db, "f1", 1000, 5000);
	insert_simple(db, "f2", 1000, 5000);
	insert_simple(db, "f3", 1000, 5000);
	ck_assert_int_eq(mf_db_cert_revoke(db, "f2", 1, 2000, "cli:bob"), MF_OK);
	insert_simple(db, "f4", 1000, 5000);
	ck_assert_int_eq(mf_db_audit_verify(db, &rows, &bad, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(rows, 5);
	ck_assert_int_eq(bad, 0);
	ck_assert_str_eq(why, "");
	return db;
}

static void
expect_broken(struct mf_db *db, int64_t want_bad, const char *want_why)
{
	int64_t rows = -1, bad = -1;
	char why[160];

	ck_assert_int_eq(mf_db_audit_verify(db, &rows, &bad, why, sizeof(why)),
	    MF_ERR_AUDIT_CHAIN);
	ck_assert_int_eq(bad, want_bad);
	ck_assert_msg(strstr(why, want_why) != NULL, "why='%s', want '%s'", why, want_why);
	ck_assert_int_eq(rows, 0);
}

START_TEST(test_audit_intact_and_head)
{
	struct mf_db *db = audit_db();
	unsigned char h[32], zero[32] = { 0 };
	int64_t id = -1;

	ck_assert_int_eq(mf_db_audit_head(db, &id, h), MF_OK);
	ck_assert_int_eq(id, 5);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE id = 5 AND"
	    " prev_hash = (SELECT hash FROM audit_log WHERE id = 4)"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE id = 1 AND"
	    " prev_hash = zeroblob(32)"), 1);
	ck_assert_mem_ne(h, zero, 32);
	ck_assert_int_eq(mf_db_audit_append(db, "config", "cli:carol", "reloaded"), MF_OK);
	ck_assert_int_eq(mf_db_audit_head(db, &id, h), MF_OK);
	ck_assert_int_eq(id, 6);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, NULL, 0), MF_OK);
	mf_db_close(db);
}
END_TEST

/*
 * `mayfly audit verify` under load printed a head it had not verified: the
 * walk and the head read saw different snapshots. Inside mf_db_read_begin
 * a writer's new rows stay invisible until mf_db_read_end.
 */
START_TEST(test_audit_snapshot)
{
	struct mf_db *db = audit_db(), *ro = NULL;
	unsigned char h[32];
	int64_t id = -1, rows = -1;

	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_READONLY, &ro), MF_OK);
	ck_assert_int_eq(mf_db_read_begin(ro), MF_OK);
	ck_assert_int_eq(mf_db_read_begin(ro), MF_ERR_INVAL);
	ck_assert_int_eq(mf_db_audit_verify(ro, &rows, NULL, NULL, 0), MF_OK);
	ck_assert_int_eq(rows, 5);
	/* Another process appends while the check runs. */
	ck_assert_int_eq(mf_db_audit_append(db, "config", "cli:carol", "meanwhile"), MF_OK);
	ck_assert_int_eq(mf_db_audit_head(ro, &id, h), MF_OK);
	ck_assert_int_eq(id, rows);
	ck_assert_int_eq(mf_db_read_end(ro), MF_OK);
	ck_assert_int_eq(mf_db_audit_head(ro, &id, h), MF_OK);
	ck_assert_int_eq(id, 6);
	ck_assert_int_eq(mf_db_read_end(ro), MF_OK);	/* nothing open: harmless */
	mf_db_close(ro);
	mf_db_close(db);
}
END_TEST

/* A missing log is not created by a plain or read-only open, and says why. */
START_TEST(test_open_missing_not_created)
{
	struct mf_db *db = NULL;
	struct stat sb;

	ck_assert_int_eq(mf_db_open(dbpath, 0, &db), MF_ERR_NOTFOUND);
	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_READONLY, &db), MF_ERR_NOTFOUND);
	ck_assert_int_ne(stat(dbpath, &sb), 0);
	ck_assert_str_eq(mf_db_open_why(dbpath, MF_ERR_NOTFOUND), "no such file");
	ck_assert_str_eq(mf_db_errmsg(NULL), "no database");
}
END_TEST

/*
 * mayflyd's hot queries reach their rows through an index, never by
 * scanning every certificate: with a year of 24-hour certificates the log
 * holds millions of expired rows that start-up, pre-signing, CRLs and the
 * revocation poll must not touch.
 */
/* Whether a step of an EXPLAIN QUERY PLAN ("; "-separated) walks the whole table. */
static int
plan_scans_certs(const char *plan)
{
	const char *p = plan;

	for (;;) {
		if (strncmp(p, "SCAN certificates", 17) == 0 ||
		    (strncmp(p, "SCAN c", 6) == 0 && (p[6] == '\0' || p[6] == ' ' || p[6] == ';')))
			return 1;
		if ((p = strstr(p, "; ")) == NULL)
			return 0;
		p += 2;
	}
}

/*
 * The C string literal that holds marker in the source file rel (under
 * the source tree), with the literals that follow it concatenated as the
 * compiler does: a statement another module keeps to itself.
 */
static char *
src_statement(const char *rel, const char *marker)
{
	char *path = mft_srcpath(rel), *out, *o;
	unsigned char *text = NULL;
	const char *p;
	size_t len;

	ck_assert_int_eq(mf_file_read(path, 1 << 20, &text, &len), MF_OK);
	free(path);
	p = strstr((const char *)text, marker);
	ck_assert_msg(p != NULL && p > (const char *)text && p[-1] == '"',
	    "%s no longer holds the statement \"%s...\": update this test", rel, marker);
	p--;
	ck_assert_ptr_nonnull(out = o = malloc(len + 1));
	while (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			*o++ = *p;
		ck_assert_int_eq(*p, '"');
		for (p++; *p == ' ' || *p == '\t' || *p == '\n'; p++)
			;
	}
	*o = '\0';
	free(text);
	return out;
}

/* Whether any step of a plan walks a whole table ("SCAN x"; "SEARCH" uses a key). */
static int
plan_scans_any(const char *plan)
{
	const char *p = plan;

	for (;;) {
		if (strncmp(p, "SCAN ", 5) == 0)
			return 1;
		if ((p = strstr(p, "; ")) == NULL)
			return 0;
		p += 2;
	}
}

START_TEST(test_hot_queries_indexed)
{
	/*
	 * Hot statements of the daemon's other modules, read from their
	 * source: they must not scan any table at all.
	 */
	static const struct { const char *file, *marker, *what; } other[] = {
		{ "src/mayflyd/persist.c", "SELECT o.issuer, o.alg, o.serial",
		    "stored OCSP responses the log confirms (start-up)" },
		{ "src/acme/acme_sq.c", "SELECT count(*) FROM acme_rate WHERE",
		    "events in the rate-limit window (each ACME order, new account, name)" },
		{ "src/acme/acme_sq.c", "SELECT min(at) FROM acme_rate WHERE",
		    "oldest event in the window (rate-limit Retry-After)" },
	};
	struct mf_db *db = open_new();
	const struct mf_db_hot *hot;
	char plan[1024], *sql;
	size_t i, n = 0, prune = 0;

	hot = mf_db_hot_queries(&n);
	ck_assert_uint_ge(n, 10);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(mf_db_explain(db, hot[i].sql, plan, sizeof(plan)), MF_OK);
		ck_assert_msg(plan[0] != '\0', "%s: no plan", hot[i].name);
		ck_assert_msg(!plan_scans_certs(plan), "%s scans the certificates: %s",
		    hot[i].name, plan);
		/*
		 * Retention must not step over the rows it pruned before: a
		 * range of the not_after index would, a year of them per batch.
		 */
		if (strstr(hot[i].name, "prune") != NULL) {
			ck_assert_msg(strstr(plan, "certificates_unpruned") != NULL,
			    "%s does not use the index of unpruned rows: %s", hot[i].name, plan);
			prune++;
		}
	}
	ck_assert_uint_eq(prune, 2);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		sql = src_statement(other[i].file, other[i].marker);
		ck_assert_int_eq(mf_db_explain(db, sql, plan, sizeof(plan)), MF_OK);
		ck_assert_msg(plan[0] != '\0', "%s: no plan", other[i].what);
		ck_assert_msg(!plan_scans_any(plan), "%s (%s) scans a table: %s", other[i].what,
		    other[i].file, plan);
		free(sql);
	}
	/* The checks can fail: a plain walk of a table is seen as a scan. */
	ck_assert_int_eq(mf_db_explain(db, "SELECT serial FROM certificates c WHERE c.sans = 'x'",
	    plan, sizeof(plan)), MF_OK);
	ck_assert_msg(plan_scans_certs(plan), "plan: %s", plan);
	ck_assert_int_eq(mf_db_explain(db, "SELECT count(*) FROM acme_rate WHERE at > 0",
	    plan, sizeof(plan)), MF_OK);
	ck_assert_msg(plan_scans_any(plan), "plan: %s", plan);
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_config_changes)
{
	struct mf_db *db = open_new();
	unsigned char a[32], b[32];
	int rec = -1;

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	ck_assert_int_eq(mf_db_audit_config(db, "/etc/m_%.yaml", a, "cli:x", &rec), MF_OK);
	ck_assert_int_eq(rec, 1);
	/* The same file unchanged: no second row. */
	ck_assert_int_eq(mf_db_audit_config(db, "/etc/m_%.yaml", a, "mayflyd", &rec), MF_OK);
	ck_assert_int_eq(rec, 0);
	/* Another path whose name the first one's LIKE pattern would match unescaped. */
	ck_assert_int_eq(mf_db_audit_config(db, "/etc/mx%.yaml", a, "cli:x", &rec), MF_OK);
	ck_assert_int_eq(rec, 1);
	/* A change is recorded, and going back to the old content is a change too. */
	ck_assert_int_eq(mf_db_audit_config(db, "/etc/m_%.yaml", b, "cli:x", &rec), MF_OK);
	ck_assert_int_eq(rec, 1);
	ck_assert_int_eq(mf_db_audit_config(db, "/etc/m_%.yaml", a, "cli:x", &rec), MF_OK);
	ck_assert_int_eq(rec, 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE event = 'config'"), 4);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, NULL, 0), MF_OK);
	ck_assert_int_eq(mf_db_audit_config(db, NULL, a, "cli:x", &rec), MF_ERR_INVAL);
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_triggers)
{
	struct mf_db *db = audit_db();
	sqlite3 *h = mf_sql_sqlite(mf_db_handle(db));

	ck_assert_int_eq(sqlite3_exec(h, "UPDATE audit_log SET detail = 'x' WHERE id = 2", NULL,
	    NULL, NULL), SQLITE_CONSTRAINT_TRIGGER);
	ck_assert_int_eq(sqlite3_exec(h, "DELETE FROM audit_log WHERE id = 5", NULL, NULL, NULL),
	    SQLITE_CONSTRAINT_TRIGGER);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, NULL, 0), MF_OK);
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_edited)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "DROP TRIGGER audit_log_no_update");
	raw_exec(db, "UPDATE audit_log SET detail = replace(detail, 'f3', 'f9') WHERE id = 3");
	expect_broken(db, 3, "row 3: hash mismatch (row changed)");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_edited_time)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "DROP TRIGGER audit_log_no_update");
	raw_exec(db, "UPDATE audit_log SET time = time + 1 WHERE id = 4");
	expect_broken(db, 4, "row 4: hash mismatch");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_deleted)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "DROP TRIGGER audit_log_no_delete");
	raw_exec(db, "DELETE FROM audit_log WHERE id = 3");
	expect_broken(db, 4, "row 4: previous hash does not match row 2 (row 3 deleted)");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_deleted_first)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "DROP TRIGGER audit_log_no_delete");
	raw_exec(db, "DELETE FROM audit_log WHERE id = 1");
	expect_broken(db, 2, "row 1 deleted");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_swapped)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "DROP TRIGGER audit_log_no_update");
	raw_exec(db, "UPDATE audit_log SET id = -1 WHERE id = 2");
	raw_exec(db, "UPDATE audit_log SET id = 2 WHERE id = 3");
	raw_exec(db, "UPDATE audit_log SET id = 3 WHERE id = -1");
	expect_broken(db, 2, "row 2: holds the entry written as row 3 (rows reordered)");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_inserted)
{
	struct mf_db *db = audit_db();

	/*
	 * Make room after row 3 and slip in a copy of row 3 that links to it:
	 * the forged row cannot carry a hash that fits its content and id.
	 */
	raw_exec(db, "DROP TRIGGER audit_log_no_update");
	raw_exec(db, "UPDATE audit_log SET id = id + 100 WHERE id > 3");
	raw_exec(db, "UPDATE audit_log SET id = id - 99 WHERE id > 100");
	raw_exec(db, "INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash)"
	    " SELECT 4, time, 'revoke', 'cli:mallory', 'serial=f1 reason=1', hash, hash"
	    " FROM audit_log WHERE id = 3");
	expect_broken(db, 4, "row 4: hash mismatch");
	mf_db_close(db);
}
END_TEST

START_TEST(test_audit_appended_forgery)
{
	struct mf_db *db = audit_db();

	raw_exec(db, "INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash)"
	    " SELECT 6, time, 'revoke', 'cli:mallory', 'x', hash, randomblob(32)"
	    " FROM audit_log WHERE id = 5");
	expect_broken(db, 6, "row 6: hash mismatch (row changed)");
	mf_db_close(db);
}
END_TEST

/* ---- the other tables, and a copy, on either backend ------------------------------- */

static int
count_eab(const struct mf_eab_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int
count_bundle(uint32_t version, const void *der, size_t len, int64_t at, void *arg)
{
	(void)version; (void)der; (void)len; (void)at;
	(*(int *)arg)++;
	return 0;
}

/*
 * mayflyd's retention task prunes one batch at a time (mf_db_prune_batch),
 * so it can pause between batches; each batch is its own audited
 * transaction, says how long it held the write lock, and leaves the live
 * certificates alone.
 */
START_TEST(test_prune_batch)
{
	struct mf_db *db = open_new();
	int64_t now = (int64_t)time(NULL), hold = -1, n = -1;
	size_t got = 99;
	char why[256];

	insert_simple(db, "b1", 1000, 2000);
	insert_simple(db, "b2", 1000, 2500);
	insert_simple(db, "b3", 1000, 3000);
	insert_simple(db, "b4", now - 10, now + 3600);
	ck_assert_int_eq(mf_db_prune_batch(db, now + 1, 2, now, "mayflyd:retention", &got, &hold),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_db_prune_batch(db, now - 60, 0, now, "mayflyd:retention", &got, &hold),
	    MF_ERR_INVAL);
	ck_assert_int_eq(mf_db_prune_batch(db, now - 60, 2, now, "mayflyd:retention", &got, &hold),
	    MF_OK);
	ck_assert_uint_eq(got, 2);
	ck_assert_int_ge(hold, 0);
	ck_assert_int_lt(hold, 10 * 1000000);
	ck_assert_int_eq(mf_db_prune_count(db, now - 60, &n), MF_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(mf_db_prune_batch(db, now - 60, 2, now, "mayflyd:retention", &got, &hold),
	    MF_OK);
	ck_assert_uint_eq(got, 1);
	/* Nothing left: no transaction, no audit row. */
	ck_assert_int_eq(mf_db_prune_batch(db, now - 60, 2, now, "mayflyd:retention", &got, &hold),
	    MF_OK);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(hold, 0);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM audit_log WHERE event = 'prune'"
	    " AND actor = 'mayflyd:retention'"), 2);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates WHERE pruned_at IS NULL"),
	    1);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(mf_db_certs_verify(db, &n, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(n, 4);
	mf_db_close(db);
}
END_TEST

/*
 * Retention, trust bundles, EAB keys and CA revocations, each through its
 * real function; then mf_db_copy of the whole log into a fresh SQLite file
 * and its proof. On PostgreSQL (suite db-pg) this is the copy back.
 */
START_TEST(test_other_tables_and_copy)
{
	struct mf_db *db = open_new(), *dst = NULL;
	struct mf_db_copy_report rep;
	struct mf_ca_rec ca;
	unsigned char one[] = { 0x30, 0x00 }, key[MF_EAB_KEY_LEN], h[32];
	char kid[MF_EAB_KID_LEN + 1], why[256], *copy;
	int64_t n = -1, now = (int64_t)time(NULL), hid = 0;
	int k = 0, cnt = 0;

	/* retention: two long expired, one live */
	insert_simple(db, "e1", 1000, 2000);
	insert_simple(db, "e2", 1000, 3000);
	insert_simple(db, "a1", now - 10, now + 3600);
	ck_assert_int_eq(mf_db_prune_count(db, now - 60, &n), MF_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(mf_db_prune(db, now - 60, 1, now, "cli:test", NULL, &n), MF_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM certificates WHERE pruned_at IS NOT NULL"
	    " AND length(der) = 0 AND length(der_sha256) = 32"), 2);
	/* trust bundles: versions only go up */
	ck_assert_int_eq(mf_db_bundle_publish(db, 1, 0, 1, one, sizeof(one), "test"), MF_OK);
	ck_assert_int_eq(mf_db_bundle_publish(db, 1, 1, 1, one, sizeof(one), "test"),
	    MF_ERR_BUNDLE_VERSION);
	ck_assert_int_eq(mf_db_bundle_publish(db, 3, 1, 1, one, sizeof(one), "test"), MF_OK);
	ck_assert_int_eq(mf_db_bundle_list(db, 0, count_bundle, &cnt), MF_OK);
	ck_assert_int_eq(cnt, 2);
	/* EAB keys */
	ck_assert_int_eq(mf_db_eab_add(db, "customer", "cli:test", kid, key), MF_OK);
	ck_assert_int_eq(mf_db_eab_remove(db, kid, "cli:test"), MF_OK);
	ck_assert_int_ne(mf_db_eab_remove(db, kid, "cli:test"), MF_OK);
	ck_assert_int_eq(mf_db_eab_list(db, count_eab, &k), MF_OK);
	ck_assert_int_eq(k, 1);
	/* a CA certificate and its revocation */
	ca_rec_init(&ca, "issuing-9", "intermediate", "root-a", "file:keys/issuing-9.pem");
	ck_assert_int_eq(mf_db_ca_insert(db, &ca, "cli:test"), MF_OK);
	ck_assert_int_eq(mf_db_ca_revoke(db, "issuing-9", "root-a", 1, now, "cli:test", &k), MF_OK);
	ck_assert_int_eq(k, 1);
	ck_assert_int_eq(mf_db_ca_is_revoked(db, fake_der, sizeof(fake_der)), MF_ERR_CA_REVOKED);
	ck_assert_int_eq(mf_db_audit_verify(db, NULL, NULL, why, sizeof(why)), MF_OK);

	/* the whole log into a fresh SQLite file, proven */
	copy = mf_path_join(tdir, "copy.db");
	ck_assert_int_eq(mf_db_open(copy, MF_DB_CREATE, &dst), MF_OK);
	ck_assert_int_eq(mf_db_copy(db, dst, &rep, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(rep.certificates, 3);
	/* every table of the schema was copied and compared, none forgotten */
	ck_assert_int_eq(raw_count(dst, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name NOT LIKE 'sqlite_%'"), (int64_t)rep.tables);
	ck_assert_uint_eq(rep.tables, 18);
	ck_assert_int_eq(mf_db_audit_head(dst, &hid, h), MF_OK);
	ck_assert_int_eq(hid, rep.head_id);
	/* a second copy into it is refused and changes nothing */
	ck_assert_int_eq(mf_db_copy(db, dst, &rep, why, sizeof(why)), MF_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(why, "not empty"));
	ck_assert_int_eq(raw_count(dst, "SELECT count(*) FROM certificates"), 3);
	/* the copy goes on numbering where the original stopped */
	insert_simple(dst, "b1", now, now + 60);
	ck_assert_int_eq(raw_count(dst, "SELECT max(id) FROM certificates"), 4);
	ck_assert_int_eq(mf_db_audit_verify(dst, NULL, NULL, why, sizeof(why)), MF_OK);
	mf_db_close(dst);
	free(copy);
	mf_db_close(db);
}
END_TEST

/* ---- the storage layer's own parts (src/store), no server needed ------------------ */

static void
rewrites_to(const char *in, const char *want, int want_n)
{
	int n = -1;
	char *out = mf_sql_pg_rewrite(in, &n);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(n, want_n);
	free(out);
}

START_TEST(test_store_rewrite)
{
	rewrites_to("SELECT a FROM t WHERE x = ?1 AND y = ?2", "SELECT a FROM t WHERE x = $1 AND y = $2",
	    2);
	/* bare ? takes the highest number so far plus one, as in SQLite */
	rewrites_to("INSERT INTO t VALUES (?, ?, ?5, ?)", "INSERT INTO t VALUES ($1, $2, $5, $6)", 6);
	/* nothing inside a string literal or a comment is touched */
	rewrites_to("SELECT 'it''s ?1 instr(' -- ?2 instr\n, ?1", "SELECT 'it''s ?1 instr(' -- ?2 instr\n, $1",
	    1);
	rewrites_to("SELECT instr(lower(s), lower(?3)) FROM c", "SELECT strpos(lower(s), lower($3)) FROM c", 3);
	rewrites_to("SELECT id FROM certificates INDEXED BY certificates_not_after WHERE n > ?1",
	    "SELECT id FROM certificates  WHERE n > $1", 1);
	rewrites_to("FROM c CROSS JOIN r ON r.s = c.s", "FROM c JOIN r ON r.s = c.s", 0);
	rewrites_to("UPDATE c SET der = X'', h = x'0aFF'", "UPDATE c SET der = '\\x'::bytea, h = '\\x0aFF'::bytea", 0);
	/* words that merely start like a rewritten one stay */
	rewrites_to("SELECT instruction, crossing, indexed_at FROM t", "SELECT instruction, crossing, indexed_at FROM t", 0);
}
END_TEST

START_TEST(test_store_uri)
{
	struct mf_sql *h = (struct mf_sql *)1;
	char buf[128], why[256];

	ck_assert(mf_sql_is_pg_uri("postgresql://db1/mayfly"));
	ck_assert(mf_sql_is_pg_uri("postgres://db1/mayfly"));
	ck_assert(!mf_sql_is_pg_uri("mayfly.db"));
	ck_assert(!mf_sql_is_pg_uri("/var/lib/mayfly/postgresql://x"));
	mf_sql_uri_redact("postgresql://ca:pw@db1.example.com:5433/mayfly?sslmode=verify-full", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "postgresql://db1.example.com:5433/mayfly");
	/* a password is refused before any connection, and not repeated */
	ck_assert_int_eq(mf_sql_open_pg("postgresql://ca:hunter2@db1.invalid/mayfly", 0, &h, why,
	    sizeof(why)), MF_SQL_MISUSE);
	ck_assert_ptr_null(h);
	ck_assert_ptr_nonnull(strstr(why, "password"));
	ck_assert_ptr_null(strstr(why, "hunter2"));
	h = (struct mf_sql *)1;
	ck_assert_int_eq(mf_sql_open_pg("postgresql:///m?host=/nonexistent&password=hunter2", 0,
	    &h, why, sizeof(why)), MF_SQL_MISUSE);
	ck_assert_ptr_null(h);
	/* no server: a clear error, no handle */
	ck_assert_int_ne(mf_sql_open_pg("postgresql:///m?host=/nonexistent-dir&connect_timeout=2", 0,
	    &h, why, sizeof(why)), MF_SQL_OK);
	ck_assert_ptr_null(h);
	ck_assert_msg(why[0] != '\0' && strchr(why, '\n') == NULL, "why='%s'", why);
	ck_assert_str_eq(mf_db_shown("postgresql://u@db1/m?passfile=/etc/p"), "postgresql://db1/m");
	ck_assert_str_eq(mf_db_shown("ca/mayfly.db"), "ca/mayfly.db");
}
END_TEST

Suite *
suite_db(void)
{
	Suite *s = suite_create("db");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_migrate_reopen);
	tcase_add_test(tc, test_schema_too_new);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_pragmas);
	tcase_add_test(tc, test_busy_schedule);
	tcase_add_test(tc, test_busy_waits);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_open_missing_not_created);
	suite_add_tcase(s, tc);

	tc = tcase_create("certs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_insert_get_dup);
	tcase_add_test(tc, test_list_filters);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_revoked_list);
	tcase_add_test(tc, test_revocations_since);
	tcase_add_test(tc, test_crl_number);
	tcase_add_test(tc, test_ca);
	tcase_add_test(tc, test_hot_queries_indexed);
	suite_add_tcase(s, tc);

	tc = tcase_create("tx");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_two_writers);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_audit_intact_and_head);
	tcase_add_test(tc, test_audit_snapshot);
	tcase_add_test(tc, test_audit_triggers);
	tcase_add_test(tc, test_audit_config_changes);
	tcase_add_test(tc, test_audit_edited);
	tcase_add_test(tc, test_audit_edited_time);
	tcase_add_test(tc, test_audit_deleted);
	tcase_add_test(tc, test_audit_deleted_first);
	tcase_add_test(tc, test_audit_swapped);
	tcase_add_test(tc, test_audit_inserted);
	tcase_add_test(tc, test_audit_appended_forgery);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_other_tables_and_copy);
	tcase_add_test(tc, test_prune_batch);
	tcase_add_test(tc, test_store_rewrite);
	tcase_add_test(tc, test_store_uri);
	suite_add_tcase(s, tc);
	return s;
}

/* What of the above holds on PostgreSQL; run by tests/pg/check-pg.sh. */
Suite *
suite_db_pg(void)
{
	Suite *s = suite_create("db-pg");
	TCase *tc;

	tc = tcase_create("pg");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup_pg, teardown);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_insert_get_dup);
	tcase_add_test(tc, test_list_filters);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_revoked_list);
	tcase_add_test(tc, test_revocations_since);
	tcase_add_test(tc, test_crl_number);
	tcase_add_test(tc, test_ca);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_two_writers);
	tcase_add_test(tc, test_audit_snapshot);
	tcase_add_test(tc, test_audit_config_changes);
	tcase_add_test(tc, test_other_tables_and_copy);
	tcase_add_test(tc, test_prune_batch);
	suite_add_tcase(s, tc);
	return s;
}
