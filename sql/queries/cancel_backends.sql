-- Cancels the queries of the orchestrator's own connections (application_name migrator*) in this database.
SELECT pid, application_name, state, pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'migrator%' AND pid <> pg_backend_pid();
