-- 206: the key of the ACME Replay-Nonce MAC for a log several mayflyd nodes
-- share (src/acme/acme_nonce.c), so a nonce minted by one node is good on
-- every other. One row, drawn by the first listener that starts on the
-- log (ON CONFLICT keeps the first of two at once), 64 hex digits; a
-- listener alone on an SQLite log draws its key at each start and never
-- stores it. Each use of a nonce on a shared log inserts one row into
-- acme_nonces (value: node and counter of the nonce, expires: its expiry
-- plus a margin for clocks), which acme_cleanup deletes once expired.
CREATE TABLE acme_nonce_key (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	secret      TEXT NOT NULL CHECK (length(secret) = 64),
	created     INTEGER NOT NULL
);
