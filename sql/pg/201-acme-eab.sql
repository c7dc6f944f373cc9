-- 201: external account binding keys (RFC 8555 7.3.4) made by
-- `mayfly acme eab add`. The HMAC key is a secret shared with one customer;
-- it is kept here (in SQLite the database file is 0600, like the key files;
-- here whoever may read the table holds it) so that mayflyd can check
-- bindings without a restart. A key binds at most one account
-- (acme_accounts.eab_kid is UNIQUE); removing it stops new bindings and
-- leaves the account it bound alone.
-- PostgreSQL form of sql/201-acme-eab.sql (no WITHOUT ROWID here).
CREATE TABLE acme_eab_keys (
	kid         TEXT PRIMARY KEY,
	hmac_key    BYTEA NOT NULL CHECK (length(hmac_key) >= 32),
	label       TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	created_by  TEXT NOT NULL,
	removed_at  BIGINT
);
