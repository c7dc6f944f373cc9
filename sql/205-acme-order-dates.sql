-- 205: the notBefore/notAfter an ACME newOrder asked for (RFC 8555 7.4),
-- in unix seconds, NULL when not asked. notBefore may lie ahead of the
-- order's creation, up to issuance.forward-horizon: a certificate ordered
-- now that takes over when the current one expires rides out an outage
-- of the CA. not_after is set only together with not_before.
ALTER TABLE acme_orders ADD COLUMN not_before INTEGER;
ALTER TABLE acme_orders ADD COLUMN not_after INTEGER
	CHECK (not_after IS NULL OR (not_before IS NOT NULL AND not_after > not_before));
