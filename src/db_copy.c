/*
 * db_copy.c: copies one issuance log into another, empty one, and proves
 * the copy (`mayfly db migrate --to`). The usual use is an SQLite file
 * moving to PostgreSQL when one machine is no longer enough; the code is
 * the same in every direction because both ends go through the storage
 * layer.
 *
 * The copy is one write transaction on the destination, read from one
 * snapshot of the source: it lands whole or not at all. Rows keep their
 * ids, so the audit chain (whose hashes cover the ids) verifies unchanged
 * and ends at the same head. The proof reads both logs again, table by
 * table in key order, and compares a SHA-256 over every value with its
 * type; a difference names the table.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "db.h"
#include "db_int.h"
#include "mferr.h"

/* Every table of the schema, parents before children, with its key order. */
static const struct {
	const char *name;
	const char *order;
	int identity;		/* has an id PostgreSQL numbers itself */
} copy_tables[] = {
	{ "certificates", "id", 1 },
	{ "revocations", "id", 1 },
	{ "ca_certificates", "id", 1 },
	{ "ca_revocations", "ca_id", 0 },
	{ "crl_numbers", "issuer", 0 },
	{ "audit_log", "id", 0 },
	{ "ocsp_responses", "issuer, alg, serial", 0 },
	{ "trust_bundles", "version", 0 },
	{ "acme_eab_keys", "kid", 0 },
	{ "acme_accounts", "id", 0 },
	{ "acme_orders", "id", 0 },
	{ "acme_authzs", "id", 0 },
	{ "acme_challenges", "id", 0 },
	{ "acme_nonces", "value", 0 },
	{ "acme_issued", "serial", 0 },
	{ "acme_rate", "key, at", 0 },
	{ "est_tokens_used", "token_sha256", 0 },
	{ "acme_nonce_key", "id", 0 },
};
#define NTABLES (sizeof(copy_tables) / sizeof(copy_tables[0]))

static int
copy_count(struct mf_db *db, const char *table, int64_t *n)
{
	char sql[128];

	/* table names come from copy_tables above, never from input */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return mf_db_query_int64(db, sql, n);
}

/* Binds value i of row src to parameter i + 1 of dst, keeping its type. */
static int
copy_value(mf_sql_stmt *src, int i, mf_sql_stmt *dst)
{
	const void *p;
	int n;

	switch (mf_sql_column_type(src, i)) {
	case MF_SQL_NULL:
		return mf_sql_bind_null(dst, i + 1);
	case MF_SQL_INTEGER:
		return mf_sql_bind_int64(dst, i + 1, mf_sql_column_int64(src, i));
	case MF_SQL_TEXT:
		p = mf_sql_column_text(src, i);
		n = mf_sql_column_bytes(src, i);
		return mf_sql_bind_text(dst, i + 1, p != NULL ? p : "", n, MF_SQL_TRANSIENT);
	case MF_SQL_BLOB:
		p = mf_sql_column_blob(src, i);
		n = mf_sql_column_bytes(src, i);
		/* a NULL pointer would bind SQL NULL, not an empty blob */
		return mf_sql_bind_blob(dst, i + 1, p != NULL ? p : "", n, MF_SQL_TRANSIENT);
	default:
		return MF_SQL_MISUSE;	/* the schema has no floating-point column */
	}
}

static int
copy_table(struct mf_db *src, struct mf_db *dst, size_t t, int64_t *rows)
{
	mf_sql_stmt *sel = NULL, *ins = NULL;
	char sql[1024];
	size_t off;
	int rc, i, ncol, src_rc;

	*rows = 0;
	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", copy_tables[t].name,
	    copy_tables[t].order);
	if ((rc = mf_sql_prepare(src->h, sql, 0, &sel)) != MF_SQL_OK)
		return mf_db_err(rc);
	src_rc = mf_sql_step(sel);
	ncol = mf_sql_column_count(sel);
	if (src_rc != MF_SQL_ROW) {
		rc = src_rc == MF_SQL_DONE ? MF_OK : mf_db_err(src_rc);
		goto out;
	}
	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (", copy_tables[t].name);
	for (i = 0; i < ncol && off < sizeof(sql); i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s", i ? ", " : "",
		    mf_sql_column_name(sel, i));
	for (i = 0; i < ncol && off < sizeof(sql); i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s?%d",
		    i ? ", " : ") VALUES (", i + 1);
	if (off + 2 >= sizeof(sql)) {
		rc = MF_ERR_INVAL;
		goto out;
	}
	strcat(sql, ")");
	if ((rc = mf_sql_prepare(dst->h, sql, MF_SQL_PERSISTENT, &ins)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	for (; src_rc == MF_SQL_ROW; src_rc = mf_sql_step(sel)) {
		for (i = 0; i < ncol; i++)
			if (copy_value(sel, i, ins) != MF_SQL_OK) {
				rc = MF_ERR_DB;
				goto out;
			}
		if ((rc = mf_sql_step(ins)) != MF_SQL_DONE) {
			rc = mf_db_err(rc);
			goto out;
		}
		mf_sql_reset(ins);
		mf_sql_clear_bindings(ins);
		(*rows)++;
	}
	rc = src_rc == MF_SQL_DONE ? MF_OK : mf_db_err(src_rc);
out:
	mf_sql_finalize(sel);
	mf_sql_finalize(ins);
	return rc;
}

/* PostgreSQL numbers new rows from a sequence: move it past the copied ids. */
static int
copy_sequence(struct mf_db *dst, const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
	    " coalesce(max(id), 1), max(id) IS NOT NULL) FROM %s", table, table);
	return mf_db_err(mf_sql_exec(dst->h, sql));
}

static int
digest_put(EVP_MD_CTX *md, char tag, const void *p, uint64_t n)
{
	unsigned char b[9];
	int k;

	b[0] = (unsigned char)tag;
	for (k = 0; k < 8; k++)
		b[1 + k] = (unsigned char)(n >> (56 - 8 * k));
	return EVP_DigestUpdate(md, b, sizeof(b)) && (p == NULL || n == 0 ||
	    EVP_DigestUpdate(md, p, (size_t)n));
}

/* SHA-256 over every value of table t in key order, typed; and its rows. */
static int
copy_digest(struct mf_db *db, size_t t, unsigned char out[32], int64_t *rows)
{
	mf_sql_stmt *st = NULL;
	EVP_MD_CTX *md;
	char sql[256];
	int rc, i, ncol, ok = 1;

	*rows = 0;
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return MF_ERR_CRYPTO;
	}
	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", copy_tables[t].name,
	    copy_tables[t].order);
	if ((rc = mf_sql_prepare(db->h, sql, 0, &st)) != MF_SQL_OK) {
		rc = mf_db_err(rc);
		goto out;
	}
	while ((rc = mf_sql_step(st)) == MF_SQL_ROW && ok) {
		ncol = mf_sql_column_count(st);
		for (i = 0; i < ncol && ok; i++) {
			switch (mf_sql_column_type(st, i)) {
			case MF_SQL_NULL:
				ok = digest_put(md, 'n', NULL, 0);
				break;
			case MF_SQL_INTEGER:
				ok = digest_put(md, 'i', NULL, (uint64_t)mf_sql_column_int64(st, i));
				break;
			case MF_SQL_TEXT:
				ok = digest_put(md, 't', mf_sql_column_text(st, i),
				    (uint64_t)mf_sql_column_bytes(st, i));
				break;
			case MF_SQL_BLOB:
				ok = digest_put(md, 'b', mf_sql_column_blob(st, i),
				    (uint64_t)mf_sql_column_bytes(st, i));
				break;
			default:
				ok = 0;
			}
		}
		(*rows)++;
	}
	if (!ok)
		rc = MF_ERR_CRYPTO;
	else if (rc != MF_SQL_DONE)
		rc = mf_db_err(rc);
	else
		rc = EVP_DigestFinal_ex(md, out, NULL) == 1 ? MF_OK : MF_ERR_CRYPTO;
out:
	mf_sql_finalize(st);
	EVP_MD_CTX_free(md);
	return rc;
}

int
mf_db_copy(struct mf_db *src, struct mf_db *dst, struct mf_db_copy_report *rep,
    char *why, size_t whylen)
{
	unsigned char a[32], b[32];
	int64_t n, m;
	size_t t;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (why != NULL && whylen > 0)
		*why = '\0';
	for (t = 0; t < NTABLES; t++) {
		if ((rc = copy_count(dst, copy_tables[t].name, &n)) != MF_OK)
			return rc;
		if (n != 0) {
			if (why != NULL)
				snprintf(why, whylen, "the destination is not empty: %s holds %lld "
				    "rows", copy_tables[t].name, (long long)n);
			return MF_ERR_EXISTS;
		}
	}
	if ((rc = mf_db_read_begin(src)) != MF_OK)
		return rc;
	if ((rc = mf_db_begin(dst)) != MF_OK) {
		mf_db_read_end(src);
		return rc;
	}
	for (t = 0; t < NTABLES && rc == MF_OK; t++) {
		rc = copy_table(src, dst, t, &n);
		if (rc == MF_OK && dst->pg && copy_tables[t].identity)
			rc = copy_sequence(dst, copy_tables[t].name);
		if (rc != MF_OK && why != NULL)
			snprintf(why, whylen, "copying %s: %s", copy_tables[t].name,
			    mf_sql_errmsg(dst->h));
		rep->rows += n;
		if (strcmp(copy_tables[t].name, "certificates") == 0)
			rep->certificates = n;
	}
	if (rc == MF_OK)
		rc = mf_db_commit(dst);
	else
		mf_db_rollback(dst);
	if (rc != MF_OK) {
		mf_db_read_end(src);
		return rc;
	}

	/* The proof: read both again, from the same snapshot of the source. */
	for (t = 0; t < NTABLES; t++) {
		if ((rc = copy_digest(src, t, a, &n)) != MF_OK ||
		    (rc = copy_digest(dst, t, b, &m)) != MF_OK)
			break;
		if (n != m || memcmp(a, b, sizeof(a)) != 0) {
			if (why != NULL)
				snprintf(why, whylen, "%s differs after the copy (%lld rows here, "
				    "%lld there)", copy_tables[t].name, (long long)n, (long long)m);
			rc = MF_ERR_DB;
			break;
		}
		rep->tables++;
	}
	if (rc == MF_OK)
		rc = mf_db_audit_head(src, &rep->head_id, rep->head);
	mf_db_read_end(src);
	if (rc != MF_OK)
		return rc;
	if ((rc = mf_db_audit_verify(dst, &rep->audit_rows, NULL, why, whylen)) != MF_OK)
		return rc;
	if ((rc = mf_db_audit_head(dst, &n, a)) != MF_OK)
		return rc;
	if (n != rep->head_id || memcmp(a, rep->head, sizeof(a)) != 0) {
		if (why != NULL)
			snprintf(why, whylen, "the audit heads differ after the copy");
		return MF_ERR_AUDIT_CHAIN;
	}
	return MF_OK;
}
