-- The schema lock ensureSchema holds (session level), for one transaction: no run creates or
-- checks the schema while a table of it is being dropped.
SELECT pg_advisory_xact_lock(hashtextextended('migrator:schema', 0));
