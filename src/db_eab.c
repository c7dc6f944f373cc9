/*
 * db_eab.c: external account binding keys for the renewal listener (RFC
 * 8555 7.3.4), made and removed by `mayfly acme eab`. A key is 32 random
 * octets for HS256 under a random key identifier; it is shown once, when
 * made, and never written to the audit log or any other log. Adding and
 * removing a key are audited events ("eab-add", "eab-remove") naming the
 * identifier and the label.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "db.h"
#include "db_int.h"
#include "mferr.h"
#include "util.h"

/* Printable ASCII without quotes or backslashes: it goes into audit details. */
static int
eab_label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > MF_EAB_LABEL_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

int
mf_db_eab_add(struct mf_db *db, const char *label, const char *actor,
    char kid[MF_EAB_KID_LEN + 1], unsigned char key[MF_EAB_KEY_LEN])
{
	static const char sql[] =
	    "INSERT INTO acme_eab_keys (kid, hmac_key, label, created_at, created_by)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	unsigned char raw[MF_EAB_KID_LEN / 2];
	char detail[MF_EAB_LABEL_MAX + 64];
	int rc;

	if (db == NULL || actor == NULL || kid == NULL || key == NULL)
		return MF_ERR_INVAL;
	if (label == NULL)
		label = "";
	if (!eab_label_ok(label))
		return MF_ERR_INVAL;
	if (RAND_bytes(raw, sizeof(raw)) != 1 || RAND_priv_bytes(key, MF_EAB_KEY_LEN) != 1)
		return MF_ERR_CRYPTO;
	mf_hex(raw, sizeof(raw), kid);
	snprintf(detail, sizeof(detail), "kid=%s label=\"%s\"", kid, label);
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_text(st, 1, kid, -1, MF_SQL_STATIC);
	mf_sql_bind_blob(st, 2, key, MF_EAB_KEY_LEN, MF_SQL_STATIC);
	mf_sql_bind_text(st, 3, label, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 4, (int64_t)time(NULL));
	mf_sql_bind_text(st, 5, actor, -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	rc = rc == MF_SQL_DONE ? MF_OK : mf_db_err(rc);
	if (rc == MF_OK)
		rc = mf_db_audit_append(db, "eab-add", actor, detail);
out:
	mf_sql_finalize(st);
	rc = mf_db_tx_end(db, &tx, rc);
	if (rc != MF_OK) {
		OPENSSL_cleanse(key, MF_EAB_KEY_LEN);
		kid[0] = '\0';
	}
	return rc;
}

int
mf_db_eab_remove(struct mf_db *db, const char *kid, const char *actor)
{
	static const char sql[] =
	    "UPDATE acme_eab_keys SET removed_at = ?2 WHERE kid = ?1 AND removed_at IS NULL";
	struct mf_db_tx tx = { 0, 0 };
	mf_sql_stmt *st = NULL;
	char detail[MF_EAB_KID_LEN + 16];
	size_t i;
	int rc;

	if (db == NULL || kid == NULL || actor == NULL || strlen(kid) != MF_EAB_KID_LEN)
		return MF_ERR_INVAL;
	for (i = 0; i < MF_EAB_KID_LEN; i++)
		if (mf_hexdigit((unsigned char)kid[i]) < 0)
			return MF_ERR_INVAL;
	snprintf(detail, sizeof(detail), "kid=%s", kid);
	if ((rc = mf_db_tx_begin(db, &tx)) != MF_OK)
		goto out;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	mf_sql_bind_text(st, 1, kid, -1, MF_SQL_STATIC);
	mf_sql_bind_int64(st, 2, (int64_t)time(NULL));
	rc = mf_sql_step(st);
	rc = rc == MF_SQL_DONE ? MF_OK : mf_db_err(rc);
	if (rc == MF_OK && mf_sql_changes(db->h) != 1)
		rc = MF_ERR_NOTFOUND;
	if (rc == MF_OK)
		rc = mf_db_audit_append(db, "eab-remove", actor, detail);
out:
	mf_sql_finalize(st);
	return mf_db_tx_end(db, &tx, rc);
}

int
mf_db_eab_list(struct mf_db *db, mf_eab_cb cb, void *arg)
{
	static const char sql[] =
	    "SELECT k.kid, k.label, k.created_at, k.created_by, coalesce(k.removed_at, 0),"
	    " a.id FROM acme_eab_keys k LEFT JOIN acme_accounts a ON a.eab_kid = k.kid"
	    " ORDER BY k.created_at, k.kid";
	struct mf_eab_rec r;
	mf_sql_stmt *st = NULL;
	int rc;

	if (db == NULL || cb == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK)
		return mf_db_err(rc);
	for (;;) {
		if ((rc = mf_sql_step(st)) == MF_SQL_DONE) {
			rc = MF_OK;
			break;
		}
		if (rc != MF_SQL_ROW) {
			rc = mf_db_err(rc);
			break;
		}
		memset(&r, 0, sizeof(r));
		r.kid = (const char *)mf_sql_column_text(st, 0);
		r.label = (const char *)mf_sql_column_text(st, 1);
		r.created_at = mf_sql_column_int64(st, 2);
		r.created_by = (const char *)mf_sql_column_text(st, 3);
		r.removed_at = mf_sql_column_int64(st, 4);
		r.account = (const char *)mf_sql_column_text(st, 5);
		if (r.kid == NULL || r.label == NULL || r.created_by == NULL) {
			rc = MF_ERR_DB;
			break;
		}
		if ((rc = cb(&r, arg)) != 0)
			break;
	}
	mf_sql_finalize(st);
	return rc;
}
