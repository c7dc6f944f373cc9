/*
 * db_bundle.c: the published trust bundles. The table is append-only and
 * its versions only go up (sql/203-trust-bundles.sql enforces both with
 * triggers, so not even a hand-written INSERT can step back); this file
 * adds the audit row and the reads mayfly and mayflyd need. What a bundle
 * says is checked by the caller before it gets here (cli_bundle.c, with
 * the device library itself).
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "db.h"
#include "db_int.h"
#include "mferr.h"
#include "util.h"

int
mf_db_bundle_latest(struct mf_db *db, uint32_t *version)
{
	static const char sql[] = "SELECT coalesce(max(version), 0) FROM trust_bundles";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || version == NULL)
		return MF_ERR_INVAL;
	*version = 0;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	if ((rc = mf_sql_step(st)) == MF_SQL_ROW) {
		*version = (uint32_t)mf_sql_column_int64(st, 0);
		rc = MF_OK;
	} else
		rc = mf_db_err(rc);
	mf_sql_finalize(st);
	return rc;
}

int
mf_db_bundle_publish(struct mf_db *db, uint32_t version, uint32_t prev, int64_t issued_at,
    const unsigned char *der, size_t len, const char *actor)
{
	static const char sql[] =
	    "INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	unsigned char md[32];
	char hex[65], detail[256];
	uint32_t latest;
	int rc;

	if (db == NULL || version == 0 || version > INT32_MAX || der == NULL || len == 0 ||
	    len > INT32_MAX || actor == NULL)
		return MF_ERR_INVAL;
	if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1)
		return MF_ERR_CRYPTO;
	mf_hex(md, sizeof(md), hex);
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		return rc;
	/* Asked inside the write transaction: no other publisher can slip a
	 * version in between the check and the insert. */
	if ((rc = mf_db_bundle_latest(db, &latest)) != MF_OK)
		goto out;
	if (version <= latest || latest != prev) {
		rc = MF_ERR_BUNDLE_VERSION;
		goto out;
	}
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_int64(st, 1, version);
	mf_sql_bind_blob(st, 2, der, (int)len, MF_SQL_STATIC);
	mf_sql_bind_text(st, 3, hex, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 4, issued_at);
	mf_sql_bind_int64(st, 5, (int64_t)time(NULL));
	mf_sql_bind_text(st, 6, actor, -1, MF_SQL_STATIC);
	if ((rc = mf_sql_step(st)) != MF_SQL_DONE) {
		rc = mf_db_err(rc);
		goto out;
	}
	snprintf(detail, sizeof(detail), "bundle-publish version=%u sha256=%s", version, hex);
	rc = mf_db_audit_append(db, "bundle-publish", actor, detail);
out:
	mf_sql_finalize(st);
	return mf_db_tx_end(db, &tx, rc);
}

int
mf_db_bundle_get(struct mf_db *db, uint32_t version, uint32_t before, unsigned char **der,
    size_t *len, uint32_t *got)
{
	static const char sql_one[] = "SELECT version, der FROM trust_bundles WHERE version = ?1";
	static const char sql_below[] =
	    "SELECT version, der FROM trust_bundles WHERE ?1 = 0 OR version < ?1"
	    " ORDER BY version DESC LIMIT 1";
	mf_sql_stmt *st = NULL;
	const void *p;
	int rc, n;

	if (db == NULL || der == NULL || len == NULL)
		return MF_ERR_INVAL;
	*der = NULL;
	*len = 0;
	if ((rc = mf_sql_prepare(db->h, version ? sql_one : sql_below, 0, &st)) !=
	    MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_int64(st, 1, version ? version : before);
	if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
		rc = MF_ERR_NOTFOUND;
		goto out;
	}
	if (rc != MF_SQL_ROW) {
		rc = mf_db_err(rc);
		goto out;
	}
	p = mf_sql_column_blob(st, 1);
	n = mf_sql_column_bytes(st, 1);
	if (p == NULL || n <= 0) {
		rc = MF_ERR_DB;
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	if (got != NULL)
		*got = (uint32_t)mf_sql_column_int64(st, 0);
	rc = MF_OK;
out:
	mf_sql_finalize(st);
	return rc;
}

int
mf_db_bundle_list(struct mf_db *db, uint32_t after, mf_bundle_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT version, der, published_at FROM trust_bundles WHERE version > ?1"
	    " ORDER BY version";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || cb == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_int64(st, 1, after);
	for (;;) {
		const void *p;
		int n;

		if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		p = mf_sql_column_blob(st, 1);
		n = mf_sql_column_bytes(st, 1);
		if (p == NULL || n <= 0) {
			rc = MF_ERR_DB;
			break;
		}
		if ((rc = cb((uint32_t)mf_sql_column_int64(st, 0), p, (size_t)n,
		    mf_sql_column_int64(st, 2), arg)) != 0)
			break;
	}
	mf_sql_finalize(st);
	return rc;
}
