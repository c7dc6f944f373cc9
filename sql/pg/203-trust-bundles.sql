-- 203: published trust bundles (mayfly-bundle(5)), recorded by `mayfly
-- bundle publish` and served by mayflyd under /trust/. One row per version;
-- versions only go up, and a published bundle is never changed or removed:
-- a device may hold any of them.
-- PostgreSQL form of sql/203-trust-bundles.sql: version is given by the
-- code (no identity); mf_abort() is in 001; TRUNCATE is refused too.
CREATE TABLE trust_bundles (
	version       BIGINT PRIMARY KEY CHECK (version > 0 AND version <= 2147483647),
	der           BYTEA NOT NULL,
	sha256        TEXT NOT NULL,
	issued_at     BIGINT NOT NULL,
	published_at  BIGINT NOT NULL,
	actor         TEXT NOT NULL
);

-- A trigger's WHEN may not hold a subquery here, so the test is in the
-- function. SQLite has one writer at a time; here two publishers could
-- both read the old maximum and commit versions out of order. The lock,
-- held until commit, serialises them, and the maximum is read after it is
-- taken (a new snapshot per statement under READ COMMITTED, the default;
-- not under REPEATABLE READ).
CREATE FUNCTION mf_trust_bundles_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock('trust_bundles'::regclass::oid::bigint);
	IF NEW.version <= (SELECT coalesce(max(version), 0) FROM trust_bundles) THEN
		RAISE EXCEPTION USING MESSAGE = 'trust bundle versions only go up',
		    ERRCODE = 'integrity_constraint_violation';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER trust_bundles_up BEFORE INSERT ON trust_bundles
	FOR EACH ROW EXECUTE FUNCTION mf_trust_bundles_up();
CREATE TRIGGER trust_bundles_no_update BEFORE UPDATE ON trust_bundles
	FOR EACH ROW EXECUTE FUNCTION mf_abort('trust_bundles is append-only');
CREATE TRIGGER trust_bundles_no_delete BEFORE DELETE ON trust_bundles
	FOR EACH ROW EXECUTE FUNCTION mf_abort('trust_bundles is append-only');
CREATE TRIGGER trust_bundles_no_truncate BEFORE TRUNCATE ON trust_bundles
	FOR EACH STATEMENT EXECUTE FUNCTION mf_abort('trust_bundles is append-only');
