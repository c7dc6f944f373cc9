-- 200: protocol state of the renewal listener (ACME RFC 8555, EST RFC 7030).
-- Identifiers in URLs are random base64url strings, never row numbers, so
-- that nothing about other accounts can be learnt by counting.
-- PostgreSQL form of sql/200-acme.sql (no WITHOUT ROWID here).
CREATE TABLE acme_accounts (
	id          TEXT PRIMARY KEY,
	thumbprint  TEXT NOT NULL UNIQUE,      -- RFC 7638, of the current key
	jwk         TEXT NOT NULL,             -- the public key, JSON
	status      TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact     TEXT NOT NULL DEFAULT '[]', -- JSON array of URIs
	eab_kid     TEXT UNIQUE,               -- external account binding used, if any
	created_at  BIGINT NOT NULL
);

CREATE TABLE acme_orders (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES acme_accounts(id),
	status      TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
	identifiers TEXT NOT NULL,             -- JSON array of {type, value}
	expires     BIGINT NOT NULL,
	error       TEXT,                      -- JSON problem document
	cert_serial TEXT,
	replaces    TEXT,                      -- ARI certID (RFC 9773)
	created_at  BIGINT NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders(account_id, created_at);
CREATE INDEX acme_orders_expires ON acme_orders(expires);

CREATE TABLE acme_authzs (
	id          TEXT PRIMARY KEY,
	order_id    TEXT NOT NULL REFERENCES acme_orders(id) ON DELETE CASCADE,
	pos         BIGINT NOT NULL,           -- place in the order's identifiers
	type        TEXT NOT NULL CHECK (type IN ('dns', 'ip')),
	value       TEXT NOT NULL,             -- without the "*." of a wildcard
	wildcard    BIGINT NOT NULL,           -- 0 or 1, as in SQLite
	status      TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
	expires     BIGINT NOT NULL
);
CREATE INDEX acme_authzs_order ON acme_authzs(order_id);

CREATE TABLE acme_challenges (
	id          TEXT PRIMARY KEY,
	authz_id    TEXT NOT NULL REFERENCES acme_authzs(id) ON DELETE CASCADE,
	type        TEXT NOT NULL CHECK (type IN ('http-01', 'tls-alpn-01', 'dns-01')),
	token       TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	validated   BIGINT,
	error       TEXT
);
CREATE INDEX acme_challenges_authz ON acme_challenges(authz_id);

CREATE TABLE acme_nonces (
	value       TEXT PRIMARY KEY,
	expires     BIGINT NOT NULL
);
CREATE INDEX acme_nonces_expires ON acme_nonces(expires);

-- Which account received which certificate: for revocation by account and
-- for ARI "replaces" (a certificate may be replaced once).
CREATE TABLE acme_issued (
	serial      TEXT PRIMARY KEY REFERENCES certificates(serial),
	account_id  TEXT NOT NULL,
	order_id    TEXT NOT NULL,
	replaced_by TEXT
);

-- Sliding-window rate limits: one row per counted event.
CREATE TABLE acme_rate (
	key         TEXT NOT NULL,             -- "order:ACCOUNT", "name:example.com"
	at          BIGINT NOT NULL
);
CREATE INDEX acme_rate_key ON acme_rate(key, at);

-- One-time EST enrolment tokens already spent (SHA-256, never the token).
CREATE TABLE est_tokens_used (
	token_sha256 BYTEA PRIMARY KEY,
	used_at      BIGINT NOT NULL,
	serial       TEXT
);
