-- Ends the sessions connected to one (scratch) database, e.g. an earlier attempt's orphaned
-- pg_restore, so the database can be dropped. Our own session is never in it.
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid();
