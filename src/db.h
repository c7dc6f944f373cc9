/*
 * db.h: the SQLite issuance log.
 *
 * One database file holds certificates, revocations, CA certificates and key
 * URIs (never secrets), and an append-only audit log whose rows are
 * hash-chained. The schema lives in sql/NNN-*.sql, compiled in, and is
 * migrated forward at open; a database newer than the binary is refused.
 * Connections run in WAL mode with synchronous=FULL, foreign keys on and a
 * busy timeout: when a write function returns 0, the row is durable.
 *
 * A struct mf_db is one connection: use it from one thread at a time.
 */
#ifndef MF_DB_H
#define MF_DB_H

#include <stddef.h>
#include <stdint.h>

struct mf_db;

#define MF_DB_CREATE	0x1	/* create the file if missing (else MF_ERR_NOTFOUND) */
#define MF_DB_READONLY	0x2

int mf_db_open(const char *path, int flags, struct mf_db **out);
void mf_db_close(struct mf_db *db);

/*
 * Why the last call on db failed, in an operator's words: "PATH: the disk
 * is full", "PATH: Operation not permitted", ...; the string belongs to db
 * and lives until the next call on it. mf_db_open_why says why
 * mf_db_open(path) returned rc (a static string).
 */
const char *mf_db_errmsg(struct mf_db *db);
const char *mf_db_open_why(const char *path, int rc);

/*
 * A read snapshot: every read between mf_db_read_begin and mf_db_read_end
 * sees the log as it was at the first of them, whatever writers commit
 * meanwhile (e.g. `audit verify` prints the head of the chain it checked).
 */
int mf_db_read_begin(struct mf_db *db);
int mf_db_read_end(struct mf_db *db);

/* The schema version after migration. */
int mf_db_schema_version(struct mf_db *db, int *version);

/*
 * Explicit transactions, for group commit of several issuances: one fsync
 * for the whole batch. mf_db_begin takes the write lock at once (waiting up
 * to the busy timeout, else MF_ERR_DB_BUSY); a second begin is MF_ERR_INVAL.
 * A failed commit rolls the batch back: nothing in it is durable.
 * mf_db_rollback with nothing open returns 0.
 */
int mf_db_begin(struct mf_db *db);
int mf_db_commit(struct mf_db *db);
int mf_db_rollback(struct mf_db *db);

#define MF_SERIAL_MAX	20	/* octets, RFC 5280 4.1.2.2 */

struct mf_cert_rec {
	char serial[2 * MF_SERIAL_MAX + 1];	/* lower-case hex, no leading "00" padding removed */
	char *issuer;			/* name of the issuing CA (config name) */
	char *subject;			/* one-line RFC 2253 subject */
	char *sans;			/* "DNS:a.example,IP:192.0.2.1" */
	char *profile;
	int64_t not_before;		/* unix seconds */
	int64_t not_after;
	char *requester;		/* "cli:root", "acme:acct/12", ... */
	unsigned char csr_sha256[32];
	unsigned char *der;		/* the certificate; NULL (der_len 0) once pruned */
	size_t der_len;
	int64_t issued_at;
	int64_t revoked_at;		/* 0: not revoked */
	int reason;			/* CRL reason code when revoked */
};

void mf_cert_rec_free(struct mf_cert_rec *r);	/* frees members and r; NULL ok */

/*
 * Inserts a certificate record and its "issue" audit row in one transaction
 * (or inside the caller's open transaction, committed by mf_db_commit).
 * MF_ERR_SERIAL_DUP if the serial is taken. Copies everything it needs.
 * The serial is 1..40 hex digits in any case (stored lower-case); issuer,
 * subject, profile, requester and der are required, sans may be NULL,
 * not_after must exceed not_before (else MF_ERR_INVAL); issued_at 0 means
 * now. Inside a batch a failed insert undoes only itself (a savepoint), so
 * the rest of the batch can still be committed.
 */
int mf_db_cert_insert(struct mf_db *db, const struct mf_cert_rec *r);

/* Fetches by serial (hex, any case); MF_ERR_NOTFOUND. Caller frees *out. */
int mf_db_cert_get(struct mf_db *db, const char *serial, struct mf_cert_rec **out);

/*
 * Marks serial revoked at `when` with reason (RFC 5280 CRLReason) and appends
 * a "revoke" audit row by actor, in one transaction. MF_ERR_NOTFOUND,
 * MF_ERR_REVOKED if already revoked.
 */
int mf_db_cert_revoke(struct mf_db *db, const char *serial, int reason, int64_t when,
    const char *actor);

#define MF_LIST_ALL	0
#define MF_LIST_VALID	1	/* not revoked and now < not_after */
#define MF_LIST_EXPIRED	2	/* now >= not_after, revoked or not */
#define MF_LIST_REVOKED	3	/* revoked, expired or not */
#define MF_LIST_REVOKED_LIVE	4	/* revoked and now < not_after (mayflyd's pre-sign) */

/*
 * Calls cb for each matching record in issuance order; r is borrowed for the
 * call only. subject_like, if set, filters by substring of subject or SANs.
 * A non-zero return from cb stops the walk and is returned.
 */
typedef int (*mf_cert_cb)(const struct mf_cert_rec *r, void *arg);
int mf_db_cert_list(struct mf_db *db, int which, const char *subject_like, int64_t now,
    mf_cert_cb cb, void *arg);

/*
 * Revoked, unexpired certificates of one issuer (for CRLs), and all
 * revocations with id > after (for the daemon to pick up CLI revocations);
 * *last gets the highest id seen.
 */
int mf_db_revoked_list(struct mf_db *db, const char *issuer, int64_t now, mf_cert_cb cb,
    void *arg);
int mf_db_revocations_since(struct mf_db *db, int64_t after, int64_t *last, mf_cert_cb cb,
    void *arg);
/* The id of the newest revocation (0 if none), without walking them. */
int mf_db_revocation_last(struct mf_db *db, int64_t *id);
/*
 * Certificates with ids in (after, upto] (at most 10000 a call), in log
 * order, whoever issued them (another mayflyd node, the CLI); *last gets
 * the highest id seen. mf_db_cert_last: the newest id, 0 if none.
 */
int mf_db_certs_since(struct mf_db *db, int64_t after, int64_t upto, int64_t *last,
    mf_cert_cb cb, void *arg);
int mf_db_cert_last(struct mf_db *db, int64_t *id);

/* Next CRL number for issuer (monotonic, persisted). */
int mf_db_crl_number_next(struct mf_db *db, const char *issuer, uint64_t *out);

/* CA certificates and key URIs. kind: "root", "intermediate", "cross", "ocsp". */
struct mf_ca_rec {
	char *name;
	char *kind;
	char *signed_by;		/* issuer's name; same as name for a root */
	char *key_uri;			/* never a secret */
	unsigned char *der;
	size_t der_len;
	int64_t not_before, not_after;
};
void mf_ca_rec_free(struct mf_ca_rec *r);
/* Audits "ceremony" by actor (required). A kind outside the four: MF_ERR_INVAL. */
int mf_db_ca_insert(struct mf_db *db, const struct mf_ca_rec *r, const char *actor);
typedef int (*mf_ca_cb)(const struct mf_ca_rec *r, void *arg);
int mf_db_ca_list(struct mf_db *db, mf_ca_cb cb, void *arg);

/*
 * Revoked CA certificates (db_carev.c). mf_db_ca_revoke revokes every
 * logged certificate of intermediate name (its root's and the cross-signed
 * ones, or only those signed by signed_by when it is not NULL), audits
 * "ca-revoke" and puts the number revoked in *count: MF_ERR_NOTFOUND if the
 * log holds none, MF_ERR_REVOKED if all were revoked already, MF_ERR_INVAL
 * for a reason RFC 5280 does not define. mf_db_ca_revoked_list passes each
 * revoked CA certificate signed by signed_by (its DER, lent for the call).
 */
int mf_db_ca_revoke(struct mf_db *db, const char *name, const char *signed_by, int reason,
    int64_t when, const char *actor, int *count);
typedef int (*mf_ca_rev_cb)(const void *der, size_t len, int64_t revoked_at, int reason,
    void *arg);
int mf_db_ca_revoked_list(struct mf_db *db, const char *signed_by, mf_ca_rev_cb cb, void *arg);
/* MF_ERR_CA_REVOKED if the CA certificate der was revoked, else 0 (or a db error). */
int mf_db_ca_is_revoked(struct mf_db *db, const unsigned char *der, size_t len);

/*
 * External account binding keys (db_eab.c). mf_db_eab_add makes a random
 * key identifier (MF_EAB_KID_LEN hex digits) and HMAC key, stores both and
 * audits "eab-add" (never the key); label: printable ASCII without quotes,
 * at most MF_EAB_LABEL_MAX, or MF_ERR_INVAL. mf_db_eab_remove stops new
 * bindings with kid (MF_ERR_NOTFOUND if there is no such live key) and
 * audits "eab-remove". mf_db_eab_list passes each key, with the account it
 * bound (or NULL); the strings live until the callback returns.
 */
#define MF_EAB_KID_LEN		24
#define MF_EAB_KEY_LEN		32
#define MF_EAB_LABEL_MAX	100
struct mf_eab_rec {
	const char *kid, *label, *created_by, *account;
	int64_t created_at, removed_at;	/* removed_at 0: live */
};
typedef int (*mf_eab_cb)(const struct mf_eab_rec *r, void *arg);
int mf_db_eab_add(struct mf_db *db, const char *label, const char *actor,
    char kid[MF_EAB_KID_LEN + 1], unsigned char key[MF_EAB_KEY_LEN]);
int mf_db_eab_remove(struct mf_db *db, const char *kid, const char *actor);
int mf_db_eab_list(struct mf_db *db, mf_eab_cb cb, void *arg);

/*
 * Published trust bundles (db_bundle.c), mayfly-bundle(5). Versions only go
 * up and rows are never changed. mf_db_bundle_publish records der as
 * version (MF_ERR_BUNDLE_VERSION unless above every published version,
 * MF_ERR_INVAL for version 0 or an empty der) with a "bundle-publish" audit
 * row by actor, in one transaction. prev is the version the caller checked
 * der against: if the newest published version is another one by the time
 * of the write (a publish in between), MF_ERR_BUNDLE_VERSION and nothing
 * is written, so every version is recorded only after being checked
 * against the one before it. It does not look inside der. mf_db_bundle_latest puts the newest version in
 * *version (0 if none). mf_db_bundle_get copies one version (0: the newest
 * below `before`, MF_ERR_NOTFOUND if none; before 0: no bound) into *der
 * (caller frees) and its version into *got (may be NULL).
 * mf_db_bundle_list passes each published version above `after`, oldest
 * first; the bytes are lent for the call.
 */
int mf_db_bundle_publish(struct mf_db *db, uint32_t version, uint32_t prev, int64_t issued_at,
    const unsigned char *der, size_t len, const char *actor);
int mf_db_bundle_latest(struct mf_db *db, uint32_t *version);
int mf_db_bundle_get(struct mf_db *db, uint32_t version, uint32_t before, unsigned char **der,
    size_t *len, uint32_t *got);
typedef int (*mf_bundle_cb)(uint32_t version, const void *der, size_t len, int64_t published_at,
    void *arg);
int mf_db_bundle_list(struct mf_db *db, uint32_t after, mf_bundle_cb cb, void *arg);

/*
 * The audit log. Each row stores (id, time, event, actor, detail, prev_hash,
 * hash) with hash = SHA-256(prev_hash || id || time || event || actor ||
 * detail) in a fixed, length-prefixed encoding, so a changed, deleted,
 * inserted or reordered row breaks the chain. event: "issue", "revoke",
 * "ceremony", "config", ...
 */
int mf_db_audit_append(struct mf_db *db, const char *event, const char *actor,
    const char *detail);

/*
 * Walks the chain. 0 if intact (and *rows gets the count); MF_ERR_AUDIT_CHAIN
 * if broken, with *bad_id the first row that fails and why a sentence like
 * "row 7: hash mismatch (row changed)" or "row 8: previous hash does not match
 * row 6 (row 7 deleted or rows reordered)".
 */
int mf_db_audit_verify(struct mf_db *db, int64_t *rows, int64_t *bad_id, char *why,
    size_t whylen);

/*
 * The newest row's id and hash (0 and 32 zero bytes for an empty log). The
 * chain cannot show rows cut off its end, nor a chain rewritten by someone
 * with write access to the file: keep this pair elsewhere (a ticket, a log
 * server) and compare it later to catch both.
 */
int mf_db_audit_head(struct mf_db *db, int64_t *id, unsigned char hash[32]);

/*
 * The hash of row id, to check a head recorded earlier: MF_ERR_NOTFOUND if
 * the row is gone (the log was cut). mayflyd logs each new head
 * ("event=audit-head"), so the journal keeps a copy outside the database;
 * `mayfly audit verify --head ID:HASH` compares.
 */
int mf_db_audit_hash_at(struct mf_db *db, int64_t id, unsigned char hash[32]);

/*
 * Appends a "config" row "path=PATH sha256=HEX" unless the newest config row
 * for that path already carries this hash: each change of the configuration
 * is logged once, by whichever program (mayfly, mayflyd) sees it first.
 * *recorded (may be NULL) says whether a row was written.
 */
int mf_db_audit_config(struct mf_db *db, const char *path, const unsigned char sha256[32],
    const char *actor, int *recorded);

/*
 * Copies every row of src into dst, which must hold an empty log (made by
 * mf_db_open with MF_DB_CREATE), in one transaction, then proves the copy:
 * each table's rows hash alike on both sides, dst's audit chain verifies
 * and ends at src's head. why says what differed or failed.
 */
struct mf_db_copy_report {
	int64_t rows;			/* rows copied, all tables */
	int64_t certificates;
	int64_t audit_rows;		/* verified in dst */
	size_t tables;			/* tables proven identical */
	int64_t head_id;
	unsigned char head[32];
};
int mf_db_copy(struct mf_db *src, struct mf_db *dst, struct mf_db_copy_report *rep,
    char *why, size_t whylen);

/* Low-level access for modules that add their own tables (daemon, ACME). */
struct mf_sql;
struct mf_sql *mf_db_handle(struct mf_db *db);
/*
 * SQLite: how long to sleep (microseconds) before the count-th retry of a
 * statement that found the write lock taken, or -1 once the waits add up
 * to the busy timeout (5 s) and SQLITE_BUSY is returned.
 */
long mf_db_busy_sleep_us(int count);
/*
 * database: as it may be shown in messages and logs: a path as it is, a
 * PostgreSQL URI as scheme, host, port and database only. The answer is
 * the calling thread's, good until its next call.
 */
const char *mf_db_shown(const char *target);
/* Whether the log is on PostgreSQL (several nodes) rather than SQLite. */
int mf_db_is_pg(const struct mf_db *db);

/*
 * Retention (db_prune.c). mf_db_prune empties the DER of every certificate
 * that expired before cutoff and keeps its SHA-256 (der_sha256) with the
 * rest of the row, in transactions of at most batch rows, each audited as
 * "prune" by actor; *pruned gets the count. Before each batch commits,
 * sink->each (if set) gets every row's serial and DER and sink->flush
 * makes them durable: a non-zero return stops the prune with that batch
 * undone. cutoff must not be after now (MF_ERR_INVAL).
 * mf_db_prune_count counts what a prune would take.
 */
#define MF_PRUNE_BATCH_MAX	100000
struct mf_prune_sink {
	int (*each)(const char *serial, const unsigned char *der, size_t len, void *arg);
	int (*flush)(void *arg);
	void *arg;
};
int mf_db_prune(struct mf_db *db, int64_t cutoff, size_t batch, int64_t now, const char *actor,
    const struct mf_prune_sink *sink, int64_t *pruned);
int mf_db_prune_count(struct mf_db *db, int64_t cutoff, int64_t *count);
/*
 * One batch of that, without an archive, for mayflyd's retention task:
 * up to batch rows in one transaction with its "prune" audit row, so the
 * caller can pause between batches and let issuance in. *pruned gets the
 * count (0: nothing was left), *hold_us how long the transaction held the
 * write lock (from BEGIN to the end of COMMIT; either may be NULL).
 * MF_ERR_DB if another prune took one of the rows meanwhile (the batch
 * is rolled back).
 */
int mf_db_prune_batch(struct mf_db *db, int64_t cutoff, size_t batch, int64_t now,
    const char *actor, size_t *pruned, int64_t *hold_us);

/*
 * Checks every certificate row against its "issue" row of the audit chain:
 * same serial, in the same order, and the DER (or, once pruned, the kept
 * der_sha256) hashing to what the chain recorded. MF_ERR_AUDIT_CHAIN with
 * why naming the first row that differs (edited, deleted or inserted).
 * Run inside mf_db_read_begin to check the same snapshot as the chain.
 */
int mf_db_certs_verify(struct mf_db *db, int64_t *certs, char *why, size_t whylen);

/* The der_sha256 kept for a pruned certificate; MF_ERR_NOTFOUND if none. */
int mf_db_cert_pruned_sha256(struct mf_db *db, const char *serial, unsigned char md[32]);

/*
 * The statements on mayflyd's hot paths, and their query plan: one line per
 * step of SQLite's EXPLAIN QUERY PLAN, "; "-separated. For tests that keep
 * the daemon's work proportional to the live certificates.
 */
struct mf_db_hot {
	const char *name;
	const char *sql;
};
const struct mf_db_hot *mf_db_hot_queries(size_t *n);
int mf_db_explain(struct mf_db *db, const char *sql, char *out, size_t len);

#endif
