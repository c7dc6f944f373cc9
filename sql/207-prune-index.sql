-- 207: an index of the rows retention still has to look at. Pruning
-- (src/db_prune.c, `mayfly db prune` and mayflyd's daemon.retention)
-- looks for unpruned certificates that expired before a cutoff, oldest
-- first. Through certificates_not_after that walk starts at the oldest
-- expiry and steps over every row pruned already: after a year of 24-hour
-- certificates, millions of them for each batch. This partial index holds
-- only unpruned rows, so it stays as small as the live certificates plus
-- the backlog, and each batch costs its own rows.
CREATE INDEX certificates_unpruned ON certificates(not_after, id) WHERE pruned_at IS NULL;
