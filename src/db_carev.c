/*
 * db_carev.c: revoked CA certificates. Revoking an intermediate revokes
 * every certificate the log holds for that name and key: the one its root
 * signed and its cross-signed forms (optionally only those of one signer),
 * each then listed by the CRL of the root that signed it. Audited as
 * "ca-revoke".
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_int.h"
#include "mferr.h"

int
mf_db_ca_revoke(struct mf_db *db, const char *name, const char *signed_by, int reason,
    int64_t when, const char *actor, int *count)
{
	/* CAST: PostgreSQL cannot type a parameter that is only tested for NULL. */
	static const char sql_known[] =
	    "SELECT count(*) FROM ca_certificates WHERE name = ?1 AND kind IN "
	    "('intermediate', 'cross') AND (CAST(?2 AS TEXT) IS NULL OR signed_by = ?2)";
	static const char sql_revoke[] =
	    "INSERT INTO ca_revocations (ca_id, revoked_at, reason, actor)"
	    " SELECT id, ?3, ?4, ?5 FROM ca_certificates c WHERE name = ?1 AND kind IN"
	    " ('intermediate', 'cross') AND (CAST(?2 AS TEXT) IS NULL OR signed_by = ?2)"
	    " AND NOT EXISTS (SELECT 1 FROM ca_revocations r WHERE r.ca_id = c.id)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	char detail[512];
	int rc, known = 0, n = 0;

	if (count != NULL)
		*count = 0;
	if (db == NULL || name == NULL || actor == NULL || reason < 0 || reason > 10 ||
	    reason == 7)
		return MF_ERR_INVAL;
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		return rc;
	if ((rc = mf_sql_prepare(db->h, sql_known, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_text(st, 1, name, -1, MF_SQL_STATIC);
	if (signed_by != NULL)
		mf_sql_bind_text(st, 2, signed_by, -1, MF_SQL_STATIC);
	if ((rc = mf_sql_step(st)) != MF_SQL_ROW) {
		rc = mf_db_err(rc);
		goto out;
	}
	known = mf_sql_column_int(st, 0);
	mf_sql_finalize(st);
	st = NULL;
	if (known == 0) {
		rc = MF_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = mf_sql_prepare(db->h, sql_revoke, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_text(st, 1, name, -1, MF_SQL_STATIC);
	if (signed_by != NULL)
		mf_sql_bind_text(st, 2, signed_by, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 3, when);
	mf_sql_bind_int(st, 4, reason);
	mf_sql_bind_text(st, 5, actor, -1, MF_SQL_STATIC);
	if ((rc = mf_sql_step(st)) != MF_SQL_DONE) {
		rc = mf_db_err(rc);
		goto out;
	}
	if ((n = mf_sql_changes(db->h)) == 0) {
		rc = MF_ERR_REVOKED;
		goto out;
	}
	snprintf(detail, sizeof(detail), "ca-revoke name=%s signed_by=%s certificates=%d reason=%d",
	    name, signed_by != NULL ? signed_by : "*", n, reason);
	rc = mf_db_audit_append(db, "ca-revoke", actor, detail);
out:
	mf_sql_finalize(st);
	rc = mf_db_tx_end(db, &tx, rc);
	if (rc == MF_OK && count != NULL)
		*count = n;
	return rc;
}

int
mf_db_ca_revoked_list(struct mf_db *db, const char *signed_by, mf_ca_rev_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT c.der, r.revoked_at, r.reason FROM ca_revocations r"
	    " JOIN ca_certificates c ON c.id = r.ca_id WHERE c.signed_by = ?1 ORDER BY c.id";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || signed_by == NULL || cb == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	mf_sql_bind_text(st, 1, signed_by, -1, MF_SQL_STATIC);
	for (;;) {
		const void *der;
		int len;

		if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		der = mf_sql_column_blob(st, 0);
		len = mf_sql_column_bytes(st, 0);
		if (der == NULL || len <= 0) {
			rc = MF_ERR_DB;
			break;
		}
		if ((rc = cb(der, (size_t)len, mf_sql_column_int64(st, 1),
		    mf_sql_column_int(st, 2), arg)) != 0)
			break;
	}
	mf_sql_finalize(st);
	return rc;
}

int
mf_db_ca_is_revoked(struct mf_db *db, const unsigned char *der, size_t len)
{
	static const char sql[] =
	    "SELECT count(*) FROM ca_revocations r JOIN ca_certificates c ON c.id = r.ca_id"
	    " WHERE c.der = ?1";
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || der == NULL || len == 0 || len > INT32_MAX)
		return MF_ERR_INVAL;
	/* Asked once per issuance: a cached statement. */
	if ((rc = mf_db_stmt(db, MF_ST_CA_REVOKED, sql, &st)) != MF_OK)
		return rc;
	mf_sql_bind_blob(st, 1, der, (int)len, MF_SQL_STATIC);
	if ((rc = mf_sql_step(st)) == MF_SQL_ROW)
		rc = mf_sql_column_int(st, 0) > 0 ? MF_ERR_CA_REVOKED : MF_OK;
	else
		rc = mf_db_err(rc);
	mf_db_done(st);
	return rc;
}
