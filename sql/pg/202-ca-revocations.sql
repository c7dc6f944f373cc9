-- 202: revoked CA certificates (an intermediate, or its cross-signed form),
-- recorded by `mayfly intermediate revoke` and listed by the signing root's
-- offline CRL (`mayfly crl root`). One row per CA certificate.
-- PostgreSQL form of sql/202-ca-revocations.sql: ca_id is given by the
-- code (no identity); mf_abort() is in 001; TRUNCATE is refused too.
CREATE TABLE ca_revocations (
	ca_id       BIGINT PRIMARY KEY REFERENCES ca_certificates(id),
	revoked_at  BIGINT NOT NULL,
	reason      BIGINT NOT NULL,
	actor       TEXT NOT NULL
);

CREATE TRIGGER ca_revocations_no_update BEFORE UPDATE ON ca_revocations
	FOR EACH ROW EXECUTE FUNCTION mf_abort('ca_revocations is append-only');
CREATE TRIGGER ca_revocations_no_delete BEFORE DELETE ON ca_revocations
	FOR EACH ROW EXECUTE FUNCTION mf_abort('ca_revocations is append-only');
CREATE TRIGGER ca_revocations_no_truncate BEFORE TRUNCATE ON ca_revocations
	FOR EACH STATEMENT EXECUTE FUNCTION mf_abort('ca_revocations is append-only');
