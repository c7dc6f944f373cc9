-- 001: the issuance log, revocations, CA certificates and the audit chain.
CREATE TABLE certificates (
	serial      TEXT PRIMARY KEY,          -- lower-case hex
	issuer      TEXT NOT NULL,             -- config name of the issuing CA
	subject     TEXT NOT NULL,
	sans        TEXT NOT NULL,
	profile     TEXT NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	requester   TEXT NOT NULL,
	csr_sha256  BLOB NOT NULL,
	der         BLOB NOT NULL,
	issued_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX certificates_not_after ON certificates(not_after);

CREATE TABLE revocations (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	serial      TEXT NOT NULL UNIQUE REFERENCES certificates(serial),
	revoked_at  INTEGER NOT NULL,
	reason      INTEGER NOT NULL,
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

CREATE TABLE crl_numbers (
	issuer      TEXT PRIMARY KEY,
	number      INTEGER NOT NULL
);

CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	event       TEXT NOT NULL,
	actor       TEXT NOT NULL,
	detail      TEXT NOT NULL,
	prev_hash   BLOB NOT NULL,
	hash        BLOB NOT NULL
);
