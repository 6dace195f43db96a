-- Runbook (after ROLLBACK_FAILED): ends the orchestrator's own sessions (application_name migrator*)
-- in this database that hold a transaction open. pg_terminate_backend, not pg_cancel_backend: a
-- stuck session is usually idle in transaction (a dead worker's chunk), and cancelling only stops a
-- running query, leaving the transaction and its locks (the lease row FOR SHARE) in place. Sessions
-- outside a transaction hold nothing and are left alone.
SELECT pid, application_name, state, xact_start, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'migrator%' AND pid <> pg_backend_pid()
  AND xact_start IS NOT NULL;
