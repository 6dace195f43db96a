-- Runs known to this target: first and last log entry, last phase/status, lease state.
SELECT l.run_id, l.user_id::text AS user_id, min(l.at) AS started_at, max(l.at) AS last_at,
       (array_agg(l.phase || ':' || l.status ORDER BY l.id DESC))[1] AS last_event,
       (SELECT state FROM migration.run_leases r WHERE r.run_id = l.run_id) AS lease
FROM migration.migration_log l GROUP BY l.run_id, l.user_id ORDER BY max(l.at) DESC;
