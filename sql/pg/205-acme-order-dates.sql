-- 205: the notBefore/notAfter an ACME newOrder asked for (RFC 8555 7.4),
-- in unix seconds, NULL when not asked. notBefore may lie ahead of the
-- order's creation, up to issuance.forward-horizon: a certificate ordered
-- now that takes over when the current one expires rides out an outage
-- of the CA. not_after is set only together with not_before.
-- PostgreSQL form of sql/205-acme-order-dates.sql.
ALTER TABLE acme_orders ADD COLUMN not_before BIGINT;
ALTER TABLE acme_orders ADD COLUMN not_after BIGINT
	CHECK (not_after IS NULL OR (not_before IS NOT NULL AND not_after > not_before));
