-- 001: the issuance log, revocations, CA certificates and the audit chain.
-- Applied by src/db.c inside one transaction; the version is PRAGMA user_version.

-- The rowid gives issuance order (issued_at may tie within a second).
CREATE TABLE certificates (
	id          INTEGER PRIMARY KEY,
	serial      TEXT NOT NULL UNIQUE,      -- lower-case hex
	issuer      TEXT NOT NULL,             -- config name of the issuing CA
	subject     TEXT NOT NULL,
	sans        TEXT NOT NULL,
	profile     TEXT NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	requester   TEXT NOT NULL,
	csr_sha256  BLOB NOT NULL CHECK (length(csr_sha256) = 32),
	der         BLOB NOT NULL,
	issued_at   INTEGER NOT NULL,
	CHECK (not_after > not_before)
);
CREATE INDEX certificates_not_after ON certificates(not_after);
CREATE INDEX certificates_issuer ON certificates(issuer, not_after);

-- One row per revoked certificate; the id orders revocations so the daemon
-- can pick up those made by the CLI (mf_db_revocations_since).
CREATE TABLE revocations (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	serial      TEXT NOT NULL UNIQUE REFERENCES certificates(serial),
	revoked_at  INTEGER NOT NULL,
	reason      INTEGER NOT NULL CHECK (reason IN (0, 1, 2, 3, 4, 5, 6, 9, 10)),
	actor       TEXT NOT NULL
);

CREATE TABLE ca_certificates (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('root', 'intermediate', 'cross', 'ocsp')),
	signed_by   TEXT NOT NULL,
	key_uri     TEXT NOT NULL,             -- a URI, never a secret
	der         BLOB NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	created_at  INTEGER NOT NULL
);

-- RFC 5280 5.2.3: CRL numbers increase monotonically per issuer.
CREATE TABLE crl_numbers (
	issuer      TEXT PRIMARY KEY,
	number      INTEGER NOT NULL CHECK (number > 0)
);

-- Hash-chained, see mf_db_audit_verify. Ids are assigned by db.c as the
-- previous id + 1, so they have no gaps in an untouched log.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	event       TEXT NOT NULL,
	actor       TEXT NOT NULL,
	detail      TEXT NOT NULL,
	prev_hash   BLOB NOT NULL CHECK (length(prev_hash) = 32),
	hash        BLOB NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_log_hash ON audit_log(hash);

-- Append-only at the SQL level. This stops mistakes and casual tampering
-- only: whoever can write the file can drop these triggers, which is why
-- the hash chain is checked independently of them.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
