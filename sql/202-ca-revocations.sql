-- 202: revoked CA certificates (an intermediate, or its cross-signed form),
-- recorded by `mayfly intermediate revoke` and listed by the signing root's
-- offline CRL (`mayfly crl root`). One row per CA certificate.
CREATE TABLE ca_revocations (
	ca_id       INTEGER PRIMARY KEY REFERENCES ca_certificates(id),
	revoked_at  INTEGER NOT NULL,
	reason      INTEGER NOT NULL,
	actor       TEXT NOT NULL
);

CREATE TRIGGER ca_revocations_no_update BEFORE UPDATE ON ca_revocations
BEGIN
	SELECT RAISE(ABORT, 'ca_revocations is append-only');
END;
CREATE TRIGGER ca_revocations_no_delete BEFORE DELETE ON ca_revocations
BEGIN
	SELECT RAISE(ABORT, 'ca_revocations is append-only');
END;
