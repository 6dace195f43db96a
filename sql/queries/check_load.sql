-- The target server's load for the copy's throttle (activities/load.ts): numbers only.
-- active_backends: client sessions running a statement, server-wide, except this one and the
--   migrator's own (application_name 'migrator': the copy must not throttle on itself).
-- replication_lag_ms: replay lag of the slowest standby (NULL: no standby, or caught up and idle).
-- wal_bytes: the WAL position as bytes since 0/0 (NULL on a standby), differenced into a rate.
-- Without pg_monitor (or pg_read_all_stats) the server hides other roles' sessions' state and the
-- standbys' lag: the readings undercount then (docs/workflow-input.md "throttle").
SELECT
  (SELECT count(*) FROM pg_stat_activity
    WHERE state = 'active' AND backend_type = 'client backend'
      AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM 'migrator')::int AS active_backends,
  (SELECT (extract(epoch FROM max(replay_lag)) * 1000)::float8 FROM pg_stat_replication) AS replication_lag_ms,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE (pg_current_wal_lsn() - '0/0'::pg_lsn)::float8 END AS wal_bytes,
  (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at_ms;
