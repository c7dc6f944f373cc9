-- 203: published trust bundles (mayfly-bundle(5)), recorded by `mayfly
-- bundle publish` and served by mayflyd under /trust/. One row per version;
-- versions only go up, and a published bundle is never changed or removed:
-- a device may hold any of them.
CREATE TABLE trust_bundles (
	version       INTEGER PRIMARY KEY CHECK (version > 0 AND version <= 2147483647),
	der           BLOB NOT NULL,
	sha256        TEXT NOT NULL,
	issued_at     INTEGER NOT NULL,
	published_at  INTEGER NOT NULL,
	actor         TEXT NOT NULL
);

CREATE TRIGGER trust_bundles_up BEFORE INSERT ON trust_bundles
WHEN NEW.version <= (SELECT coalesce(max(version), 0) FROM trust_bundles)
BEGIN
	SELECT RAISE(ABORT, 'trust bundle versions only go up');
END;
CREATE TRIGGER trust_bundles_no_update BEFORE UPDATE ON trust_bundles
BEGIN
	SELECT RAISE(ABORT, 'trust_bundles is append-only');
END;
CREATE TRIGGER trust_bundles_no_delete BEFORE DELETE ON trust_bundles
BEGIN
	SELECT RAISE(ABORT, 'trust_bundles is append-only');
END;
