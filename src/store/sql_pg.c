/*
 * sql_pg.c: the PostgreSQL backend of the storage layer (see sql.h).
 *
 * Statements follow SQLite's model over libpq: binding stores the values,
 * the first step runs the statement (a named prepared statement for the
 * cache slots that run often, a one-shot PQexecParams otherwise) and later
 * steps walk the rows of its result. Results come in binary form; integers
 * are converted from whatever width PostgreSQL chose.
 *
 * Durability is the server's: each connection sets synchronous_commit to
 * on, so a COMMIT has returned only once the commit record is flushed (and,
 * with synchronous standbys configured, replicated). Writers serialize on
 * one advisory lock taken when a write transaction begins, the way
 * SQLite's BEGIN IMMEDIATE serializes them on one file: the audit chain,
 * CRL numbers and bundle versions stay one total order whichever node
 * appends. Group commit still batches many certificates under one lock.
 *
 * A lost connection is reconnected on the next call made outside a
 * transaction; inside one, every call fails until the caller rolls back,
 * so half of a unit of work never commits on a fresh connection.
 */
#include "mf_build.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/err.h>

#include "sql_int.h"

/* Type OIDs from pg_type.h (server headers are not part of libpq-dev). */
#define PG_BOOLOID	16
#define PG_BYTEAOID	17
#define PG_NAMEOID	19
#define PG_INT8OID	20
#define PG_INT2OID	21
#define PG_INT4OID	23
#define PG_TEXTOID	25
#define PG_OIDOID	26
#define PG_FLOAT4OID	700
#define PG_FLOAT8OID	701
#define PG_BPCHAROID	1042
#define PG_VARCHAROID	1043
#define PG_NUMERICOID	1700

/* The key of the writers' advisory lock: "mayfly" in ASCII. */
#define PG_WRITER_LOCK	"SELECT pg_advisory_xact_lock(120442436373625)"

/* Session settings every connection gets, again after each reconnect. */
static const char pg_session[] =
    "SET synchronous_commit = on;"
    "SET lock_timeout = '5s';"
    "SET client_min_messages = warning;"
    "SET standard_conforming_strings = on;"
    "SET TIME ZONE 'UTC'";

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;	/* notices (e.g. "relation exists, skipping") are not errors */
}

static int
pg_tx_state(struct mf_sql *db)
{
	PGTransactionStatusType t = PQtransactionStatus(db->pg);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void
pg_seterr(struct mf_sql *db, int code, const char *msg)
{
	size_t n;

	db->errcode = code;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg != NULL ? msg : "");
	/* libpq's messages end in a newline and may run over several lines. */
	for (n = 0; db->errmsg[n] != '\0'; n++)
		if (db->errmsg[n] == '\n' || db->errmsg[n] == '\r')
			db->errmsg[n] = db->errmsg[n + 1] == '\0' ? '\0' : ' ';
}

/* Maps a failed result (or a lost connection) onto sql.h's codes. */
static int
pg_err(struct mf_sql *db, const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	int code = MF_SQL_ERROR;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db->pg);
	if (PQstatus(db->pg) != CONNECTION_OK || state == NULL)
		code = MF_SQL_IOERR_NOCONN;
	else if (strcmp(state, "23505") == 0)
		code = MF_SQL_CONSTRAINT_UNIQUE;
	else if (strcmp(state, "23000") == 0)
		code = MF_SQL_CONSTRAINT_TRIGGER;	/* mf_abort() of sql/pg/ */
	else if (strncmp(state, "23", 2) == 0)
		code = MF_SQL_CONSTRAINT;
	else if (strcmp(state, "P0001") == 0)
		code = MF_SQL_CONSTRAINT_TRIGGER;	/* our triggers' RAISE EXCEPTION */
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "53300") == 0)
		code = MF_SQL_BUSY;
	else if (strcmp(state, "53100") == 0)
		code = MF_SQL_FULL;
	else if (strcmp(state, "53200") == 0)
		code = MF_SQL_NOMEM;
	else if (strcmp(state, "25006") == 0 || strcmp(state, "42501") == 0)
		code = MF_SQL_READONLY;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		code = MF_SQL_IOERR_NOCONN;
	pg_seterr(db, code, msg);
	if (getenv("MF_SQL_DEBUG") != NULL)
		fprintf(stderr, "sql_pg: %s: %s\n", state != NULL ? state : "-", db->errmsg);
	return code;
}

static int
pg_settings(struct mf_sql *db)
{
	PGresult *res;
	int rc = MF_SQL_OK;

	PQsetNoticeProcessor(db->pg, pg_quiet, NULL);
	res = PQexec(db->pg, pg_session);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_err(db, res);
	PQclear(res);
	if (rc == MF_SQL_OK && db->readonly) {
		res = PQexec(db->pg, "SET default_transaction_read_only = on");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = pg_err(db, res);
		PQclear(res);
	}
	return rc;
}

/*
 * A failed TLS handshake leaves libpq's OpenSSL errors on this thread's
 * queue after its own message has said what went wrong ("certificate
 * verify failed", a host name mismatch); what is left there is the
 * aftermath ("shutdown while in init"), which a caller that reports the
 * queue (mayfly's CLI does) would print as the cause.
 */
static void
pg_tls_forget(void)
{
	ERR_clear_error();
}

/*
 * Makes sure the connection is up before a call. Outside a transaction a
 * lost connection is made again; inside one the call fails (IOERR) so the
 * caller rolls back.
 */
static int
pg_ensure(struct mf_sql *db)
{
	if (PQstatus(db->pg) == CONNECTION_OK)
		return MF_SQL_OK;
	if (db->tx_lost) {
		/* a transaction was open when the connection went */
		pg_seterr(db, MF_SQL_IOERR_NOCONN, "the connection to PostgreSQL was lost in a transaction");
		return MF_SQL_IOERR_NOCONN;
	}
	PQreset(db->pg);
	if (PQstatus(db->pg) != CONNECTION_OK) {
		pg_tls_forget();
		pg_seterr(db, MF_SQL_IOERR_NOCONN, PQerrorMessage(db->pg));
		return MF_SQL_IOERR_NOCONN;
	}
	db->gen++;
	return pg_settings(db);
}

int
mf_sql_open_pg(const char *uri, int readonly, struct mf_sql **out, char *why, size_t whylen)
{
	const char *keys[4], *vals[4];
	PQconninfoOption *opts, *o;
	struct mf_sql *db = NULL;
	char *err = NULL;
	int n = 0, has_timeout = 0, rc;

	*out = NULL;
	if (why != NULL && whylen > 0)
		*why = '\0';
	if ((opts = PQconninfoParse(uri, &err)) == NULL) {
		if (why != NULL)
			snprintf(why, whylen, "not a PostgreSQL URI%s", err != NULL ?
			    " (malformed)" : "");
		PQfreemem(err);	/* its text may quote the password: never shown */
		return MF_SQL_MISUSE;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0') {
			PQconninfoFree(opts);
			if (why != NULL)
				snprintf(why, whylen, "the URI holds a password: name a file with "
				    "passfile= in the URI, PGPASSFILE or PGPASSWORD instead");
			return MF_SQL_MISUSE;
		}
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL)
			has_timeout = 1;
	}
	PQconninfoFree(opts);
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return MF_SQL_NOMEM;
	db->backend = MF_SQL_PG;
	db->readonly = readonly != 0;
	db->gen = 1;
	keys[n] = "dbname"; vals[n++] = uri;
	keys[n] = "application_name"; vals[n++] = "mayfly";
	if (!has_timeout) {
		keys[n] = "connect_timeout"; vals[n++] = "5";
	}
	keys[n] = NULL; vals[n] = NULL;
	db->pg = PQconnectdbParams(keys, vals, 1);
	if (db->pg == NULL) {
		rc = MF_SQL_NOMEM;
		goto fail;
	}
	if (PQstatus(db->pg) != CONNECTION_OK) {
		pg_tls_forget();
		if (why != NULL)
			snprintf(why, whylen, "%s", PQerrorMessage(db->pg));
		rc = MF_SQL_CANTOPEN;
		goto fail;
	}
	if ((rc = pg_settings(db)) != MF_SQL_OK) {
		if (why != NULL)
			snprintf(why, whylen, "%s", db->errmsg);
		goto fail;
	}
	*out = db;
	return MF_SQL_OK;
fail:
	if (why != NULL) {
		/* one line, for logs */
		char *p;

		for (p = why; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = p[1] == '\0' ? '\0' : ' ';
	}
	mf_sql_close(db);
	return rc;
}

void
mf_sql_uri_redact(const char *uri, char *buf, size_t len)
{
	PQconninfoOption *opts, *o;
	const char *host = NULL, *port = NULL, *dbname = NULL;

	if (len == 0)
		return;
	snprintf(buf, len, "postgresql://(unparsable)");
	if ((opts = PQconninfoParse(uri, NULL)) == NULL)
		return;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	snprintf(buf, len, "postgresql://%s%s%s/%s", host != NULL && *host != '/' ? host : "",
	    port != NULL ? ":" : "", port != NULL ? port : "", dbname != NULL ? dbname : "");
	PQconninfoFree(opts);
}

void
mf_sql_pg_close(struct mf_sql *db)
{
	if (db->pg != NULL)
		PQfinish(db->pg);
}

/* ---- rewriting SQLite spellings ------------------------------------------- */

static int
word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

char *
mf_sql_pg_rewrite(const char *sql, int *nparams)
{
	size_t cap = strlen(sql) * 3 + 64, o = 0;
	const char *p = sql, *w;
	char *out;
	int max = 0;

	if ((out = malloc(cap)) == NULL)
		return NULL;
#define PUT(c) do { if (o + 1 >= cap) goto big; out[o++] = (c); } while (0)
	while (*p != '\0') {
		if (*p == '\'') {	/* a string literal, copied whole */
			PUT(*p++);
			while (*p != '\0') {
				if (*p == '\'' && p[1] == '\'') {
					PUT(*p++);
					PUT(*p++);
				} else if (*p == '\'') {
					break;
				} else
					PUT(*p++);
			}
			if (*p == '\'')
				PUT(*p++);
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				PUT(*p++);
		} else if (*p == '?') {
			int k;

			p++;
			if (isdigit((unsigned char)*p)) {
				k = (int)strtol(p, (char **)&w, 10);
				p = w;
			} else
				k = max + 1;
			if (k > max)
				max = k;
			if (o + 16 >= cap)
				goto big;
			o += (size_t)snprintf(out + o, cap - o, "$%d", k);
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			w = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			if (word_is(w, (size_t)(p - w), "x") && *p == '\'') {
				/* X'hex' blob literal: a bytea in hex input form */
				const char *h = p + 1;

				if (o + 8 + strcspn(h, "'") + 10 >= cap)
					goto big;
				o += (size_t)snprintf(out + o, cap - o, "'\\x%.*s'::bytea",
				    (int)strcspn(h, "'"), h);
				p = h + strcspn(h, "'");
				if (*p == '\'')
					p++;
			} else if (word_is(w, (size_t)(p - w), "cross") && p[0] == ' ' &&
			    strncasecmp(p + 1, "join", 4) == 0) {
				/* CROSS JOIN .. ON: SQLite's way to fix the join order */
				p++;
			} else if (word_is(w, (size_t)(p - w), "instr")) {
				const char *s = "strpos";

				while (*s != '\0')
					PUT(*s++);
			} else if (word_is(w, (size_t)(p - w), "indexed")) {
				/* INDEXED BY name: SQLite's planner hint, no meaning here */
				const char *q = p;

				while (isspace((unsigned char)*q))
					q++;
				if (strncasecmp(q, "by", 2) == 0 && isspace((unsigned char)q[2])) {
					q += 2;
					while (isspace((unsigned char)*q))
						q++;
					while (isalnum((unsigned char)*q) || *q == '_')
						q++;
					p = q;
				} else {
					while (w < p)
						PUT(*w++);
				}
			} else {
				while (w < p)
					PUT(*w++);
			}
		} else
			PUT(*p++);
	}
	out[o] = '\0';
	*nparams = max;
	return out;
big:
	free(out);
	return NULL;
#undef PUT
}

/* ---- statements ------------------------------------------------------------ */

int
mf_sql_pg_prepare(struct mf_sql *db, const char *sql, int flags, mf_sql_stmt **out)
{
	mf_sql_stmt *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return MF_SQL_NOMEM;
	st->db = db;
	st->persistent = (flags & MF_SQL_PERSISTENT) != 0;
	if ((st->sql = mf_sql_pg_rewrite(sql, &st->nparams)) == NULL) {
		free(st);
		return MF_SQL_NOMEM;
	}
	if (st->nparams > 0 && (st->params = calloc((size_t)st->nparams,
	    sizeof(*st->params))) == NULL) {
		free(st->sql);
		free(st);
		return MF_SQL_NOMEM;
	}
	snprintf(st->name, sizeof(st->name), "mf%u", ++db->next_id);
	*out = st;
	return MF_SQL_OK;
}

static void
pg_param_clear(struct mf_sql_param *p)
{
	if (p->owned)
		free(p->val);
	p->val = NULL;
	p->owned = 0;
	p->len = 0;
	p->fmt = 0;
	p->type = 0;
}

void
mf_sql_pg_reset(mf_sql_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
}

void
mf_sql_pg_clear(mf_sql_stmt *st)
{
	int i;

	for (i = 0; i < st->nparams; i++)
		pg_param_clear(&st->params[i]);
}

void
mf_sql_pg_finalize(mf_sql_stmt *st)
{
	char sql[48];

	mf_sql_pg_reset(st);
	mf_sql_pg_clear(st);
	if (st->persistent && st->prepared_gen == st->db->gen &&
	    PQstatus(st->db->pg) == CONNECTION_OK && !pg_tx_state(st->db)) {
		/* a statement name is a fixed "mf" + number: safe to format */
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		PQclear(PQexec(st->db->pg, sql));
	}
	free(st->params);
	free(st->sql);
	free(st);
}

int
mf_sql_pg_bind(mf_sql_stmt *st, int i, const void *p, int n, int fmt, mf_sql_free_fn fn)
{
	struct mf_sql_param *par;

	if (i < 1 || i > st->nparams)
		return MF_SQL_MISUSE;
	par = &st->params[i - 1];
	pg_param_clear(par);
	if (p == NULL)
		return MF_SQL_OK;
	if (n < 0)
		n = 0;
	if (fn == MF_SQL_STATIC) {
		par->val = (char *)p;
	} else {
		if ((par->val = malloc((size_t)n + 1)) == NULL)
			return MF_SQL_NOMEM;
		memcpy(par->val, p, (size_t)n);
		par->val[n] = '\0';
		par->owned = 1;
		if (fn != MF_SQL_TRANSIENT)
			fn((void *)p);
	}
	par->len = n;
	par->fmt = fmt;
	par->type = fmt == 1 ? PG_BYTEAOID : PG_TEXTOID;
	return MF_SQL_OK;
}

int
mf_sql_pg_bind_int64(mf_sql_stmt *st, int i, int64_t v)
{
	struct mf_sql_param *par;

	if (i < 1 || i > st->nparams)
		return MF_SQL_MISUSE;
	par = &st->params[i - 1];
	pg_param_clear(par);
	par->len = snprintf(par->num, sizeof(par->num), "%" PRId64, v);
	par->val = par->num;
	par->type = PG_INT8OID;
	return MF_SQL_OK;
}

int
mf_sql_pg_step(mf_sql_stmt *st)
{
	struct mf_sql *db = st->db;
	const char *vals[64];
	int lens[64], fmts[64];
	Oid types[64];
	ExecStatusType s;
	PGresult *res;
	int i, rc;

	if (st->res != NULL) {	/* ran: walk its rows */
		if (st->row + 1 < st->nrows) {
			st->row++;
			return MF_SQL_ROW;
		}
		return MF_SQL_DONE;
	}
	if (st->nparams > 64)
		return MF_SQL_MISUSE;
	if ((rc = pg_ensure(db)) != MF_SQL_OK)
		return rc;
	for (i = 0; i < st->nparams; i++) {
		vals[i] = st->params[i].val;
		lens[i] = st->params[i].len;
		fmts[i] = st->params[i].fmt;
		types[i] = st->params[i].type;
	}
	if (st->persistent) {
		if (st->prepared_gen != db->gen) {
			/* typed by this first execution's values, as PQexecParams is */
			res = PQprepare(db->pg, st->name, st->sql, st->nparams, types);
			if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				rc = pg_err(db, res);
				PQclear(res);
				return rc;
			}
			PQclear(res);
			st->prepared_gen = db->gen;
		}
		res = PQexecPrepared(db->pg, st->name, st->nparams, vals, lens, fmts, 1);
	} else {
		res = PQexecParams(db->pg, st->sql, st->nparams, types, vals, lens, fmts, 1);
	}
	s = PQresultStatus(res);
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		rc = pg_err(db, res);
		PQclear(res);
		if (PQstatus(db->pg) != CONNECTION_OK && pg_tx_state(db))
			db->tx_lost = 1;
		return rc;
	}
	st->res = res;
	st->nrows = s == PGRES_TUPLES_OK ? PQntuples(res) : 0;
	st->row = 0;
	if (s == PGRES_COMMAND_OK || *PQcmdTuples(res) != '\0')
		db->changes = atoi(PQcmdTuples(res));
	return st->nrows > 0 ? MF_SQL_ROW : MF_SQL_DONE;
}

static int
pg_have(mf_sql_stmt *st, int i)
{
	return st->res != NULL && st->row >= 0 && st->row < st->nrows && i >= 0 &&
	    i < PQnfields(st->res) && !PQgetisnull(st->res, st->row, i);
}

static uint64_t
pg_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int k;

	for (k = 0; k < n; k++)
		v = v << 8 | p[k];
	return v;
}

int64_t
mf_sql_pg_column_int64(mf_sql_stmt *st, int i)
{
	const unsigned char *v;
	int n;

	if (!pg_have(st, i))
		return 0;
	v = (const unsigned char *)PQgetvalue(st->res, st->row, i);
	n = PQgetlength(st->res, st->row, i);
	switch (PQftype(st->res, i)) {
	case PG_INT8OID:
		return n == 8 ? (int64_t)pg_be(v, 8) : 0;
	case PG_INT4OID:
	case PG_OIDOID:
		return n == 4 ? (int64_t)(int32_t)(uint32_t)pg_be(v, 4) : 0;
	case PG_INT2OID:
		return n == 2 ? (int64_t)(int16_t)(uint16_t)pg_be(v, 2) : 0;
	case PG_BOOLOID:
		return n == 1 ? v[0] != 0 : 0;
	case PG_TEXTOID:
	case PG_VARCHAROID:
	case PG_BPCHAROID:
	case PG_NAMEOID:
		return strtoll((const char *)v, NULL, 10);
	default:
		return 0;
	}
}

const unsigned char *
mf_sql_pg_column_text(mf_sql_stmt *st, int i)
{
	if (!pg_have(st, i))
		return NULL;
	switch (PQftype(st->res, i)) {
	case PG_INT8OID:
	case PG_INT4OID:
	case PG_INT2OID:
	case PG_OIDOID:
	case PG_BOOLOID:
		snprintf(st->scratch, sizeof(st->scratch), "%" PRId64,
		    mf_sql_pg_column_int64(st, i));
		return (const unsigned char *)st->scratch;
	default:
		/* text and bytea: the bytes, which libpq follows with a NUL */
		return (const unsigned char *)PQgetvalue(st->res, st->row, i);
	}
}

const void *
mf_sql_pg_column_blob(mf_sql_stmt *st, int i)
{
	if (!pg_have(st, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

int
mf_sql_pg_column_bytes(mf_sql_stmt *st, int i)
{
	if (!pg_have(st, i))
		return 0;
	switch (PQftype(st->res, i)) {
	case PG_INT8OID:
	case PG_INT4OID:
	case PG_INT2OID:
	case PG_OIDOID:
	case PG_BOOLOID:
		return (int)strlen((const char *)mf_sql_pg_column_text(st, i));
	default:
		return PQgetlength(st->res, st->row, i);
	}
}

int
mf_sql_pg_column_type(mf_sql_stmt *st, int i)
{
	if (st->res == NULL || st->row < 0 || st->row >= st->nrows || i < 0 ||
	    i >= PQnfields(st->res) || PQgetisnull(st->res, st->row, i))
		return MF_SQL_NULL;
	switch (PQftype(st->res, i)) {
	case PG_INT8OID:
	case PG_INT4OID:
	case PG_INT2OID:
	case PG_OIDOID:
	case PG_BOOLOID:
		return MF_SQL_INTEGER;
	case PG_FLOAT4OID:
	case PG_FLOAT8OID:
	case PG_NUMERICOID:
		return MF_SQL_FLOAT;
	case PG_BYTEAOID:
		return MF_SQL_BLOB;
	default:
		return MF_SQL_TEXT;
	}
}

/* Column names and counts are known once the statement has run. */
int
mf_sql_pg_column_count(mf_sql_stmt *st)
{
	return st->res != NULL ? PQnfields(st->res) : 0;
}

const char *
mf_sql_pg_column_name(mf_sql_stmt *st, int i)
{
	return st->res != NULL && i >= 0 && i < PQnfields(st->res) ? PQfname(st->res, i) : NULL;
}

/* ---- connection-level calls ------------------------------------------------ */

int
mf_sql_pg_exec(struct mf_sql *db, const char *sql)
{
	ExecStatusType s;
	PGresult *res;
	int rc = MF_SQL_OK;

	if (PQstatus(db->pg) != CONNECTION_OK && db->tx_lost &&
	    strncasecmp(sql, "ROLLBACK", 8) == 0 && strncasecmp(sql, "ROLLBACK TO", 11) != 0) {
		/* the transaction died with the connection: nothing to undo */
		db->tx_lost = 0;
		return MF_SQL_OK;
	}
	if ((rc = pg_ensure(db)) != MF_SQL_OK)
		return rc;
	res = PQexec(db->pg, sql);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
		rc = pg_err(db, res);
		if (PQstatus(db->pg) != CONNECTION_OK && strncasecmp(sql, "ROLLBACK", 8) != 0 &&
		    pg_tx_state(db))
			db->tx_lost = 1;
	} else if (s == PGRES_COMMAND_OK) {
		db->changes = atoi(PQcmdTuples(res));
	}
	PQclear(res);
	return rc;
}

int
mf_sql_pg_begin(struct mf_sql *db, int write)
{
	int rc;

	if (!write)
		return mf_sql_pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	if ((rc = mf_sql_pg_exec(db, "BEGIN")) != MF_SQL_OK)
		return rc;
	if ((rc = mf_sql_pg_exec(db, PG_WRITER_LOCK)) != MF_SQL_OK)
		mf_sql_pg_exec(db, "ROLLBACK");
	return rc;
}

int
mf_sql_pg_in_tx(struct mf_sql *db)
{
	if (PQstatus(db->pg) != CONNECTION_OK)
		return db->tx_lost;
	return pg_tx_state(db);
}

int
mf_sql_pg_ping(struct mf_sql *db)
{
	int rc;

	if (pg_tx_state(db))
		return MF_SQL_OK;
	if ((rc = pg_ensure(db)) != MF_SQL_OK)
		return rc;
	return mf_sql_pg_exec(db, "SELECT 1");
}

int
mf_sql_socket(struct mf_sql *db)
{
	if (db == NULL || db->backend != MF_SQL_PG)
		return -1;
	return PQsocket(db->pg);
}

int
mf_sql_listen(struct mf_sql *db, const char *channel)
{
	char sql[96];
	const char *c;

	if (db == NULL || db->backend != MF_SQL_PG || channel == NULL || strlen(channel) > 63)
		return MF_SQL_MISUSE;
	/* channels are fixed names from the code: letters and underscores only */
	for (c = channel; *c != '\0'; c++)
		if (!islower((unsigned char)*c) && *c != '_')
			return MF_SQL_MISUSE;
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	return mf_sql_pg_exec(db, sql);
}

int
mf_sql_notify(struct mf_sql *db, const char *channel, const char *payload)
{
	mf_sql_stmt *st;
	int rc;

	if (db == NULL || db->backend != MF_SQL_PG)
		return MF_SQL_OK;	/* SQLite has one writer file: readers look */
	if ((rc = mf_sql_prepare(db, "SELECT pg_notify(?1, ?2)", 0, &st)) != MF_SQL_OK)
		return rc;
	mf_sql_bind_text(st, 1, channel, -1, MF_SQL_STATIC);
	mf_sql_bind_text(st, 2, payload != NULL ? payload : "", -1, MF_SQL_STATIC);
	rc = mf_sql_step(st);
	mf_sql_finalize(st);
	return rc == MF_SQL_ROW || rc == MF_SQL_DONE ? MF_SQL_OK : rc;
}

int
mf_sql_notification(struct mf_sql *db, char *payload, size_t len)
{
	PGnotify *n;

	if (db == NULL || db->backend != MF_SQL_PG)
		return 0;
	if (PQconsumeInput(db->pg) != 1 || PQstatus(db->pg) != CONNECTION_OK)
		return -1;
	if ((n = PQnotifies(db->pg)) == NULL)
		return 0;
	if (payload != NULL && len > 0)
		snprintf(payload, len, "%s", n->extra);
	PQfreemem(n);
	return 1;
}
