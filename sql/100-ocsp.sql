-- 100: mayflyd's pre-signed OCSP responses, kept across restarts so that a
-- restart does not have to sign every response again. Signed objects only:
-- no secret is stored here. Rows past nextUpdate are deleted by mayflyd.
CREATE TABLE ocsp_responses (
	issuer      TEXT NOT NULL,             -- config name of the intermediate
	alg         INTEGER NOT NULL,          -- CertID hash: 1 SHA-1, 2 SHA-256
	serial      TEXT NOT NULL,             -- lower-case hex, no leading zeros
	status      INTEGER NOT NULL,          -- 0 good, 1 revoked
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,          -- of the certificate
	der         BLOB NOT NULL,             -- the OCSPResponse
	PRIMARY KEY (issuer, alg, serial)
) WITHOUT ROWID;
CREATE INDEX ocsp_responses_next_update ON ocsp_responses(next_update);
