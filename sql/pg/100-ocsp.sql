-- 100: mayflyd's pre-signed OCSP responses, kept across restarts so that a
-- restart does not have to sign every response again. Signed objects only:
-- no secret is stored here. Rows past nextUpdate are deleted by mayflyd.
-- PostgreSQL form of sql/100-ocsp.sql (no WITHOUT ROWID here).
CREATE TABLE ocsp_responses (
	issuer      TEXT NOT NULL,             -- config name of the intermediate
	alg         BIGINT NOT NULL,           -- CertID hash: 1 SHA-1, 2 SHA-256
	serial      TEXT NOT NULL,             -- lower-case hex, no leading zeros
	status      BIGINT NOT NULL,           -- 0 good, 1 revoked
	this_update BIGINT NOT NULL,
	next_update BIGINT NOT NULL,
	not_after   BIGINT NOT NULL,           -- of the certificate
	der         BYTEA NOT NULL,            -- the OCSPResponse
	PRIMARY KEY (issuer, alg, serial)
);
CREATE INDEX ocsp_responses_next_update ON ocsp_responses(next_update);
