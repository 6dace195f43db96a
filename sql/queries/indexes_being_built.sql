-- Indexes a session is building right now (CREATE INDEX CONCURRENTLY in progress): INVALID while
-- they build, but another run's work in progress, not a leftover.
SELECT c.relname AS name FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.index_relid;
