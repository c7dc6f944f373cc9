-- 204: retention. `mayfly db prune` drops the DER of certificates that
-- expired long ago and keeps what an auditor needs: serial, names, issuer,
-- validity, requester and the SHA-256 of the DER, which the "issue" row of
-- the audit chain also carries, so the chain still vouches for the row.
-- der stays NOT NULL: a pruned row holds an empty bytea.
-- PostgreSQL form of sql/204-retention.sql.
ALTER TABLE certificates ADD COLUMN der_sha256 BYTEA
	CHECK (der_sha256 IS NULL OR length(der_sha256) = 32);
ALTER TABLE certificates ADD COLUMN pruned_at BIGINT;
