-- Other runs that ensured the schema and may be about to write into it: their lease is held, or
-- they have none yet and ensured the schema within the last $2 seconds (between ensureSchema and
-- acquireLease; a run that never got its lease ages out).
SELECT s.run_id FROM migration.schema_users s
LEFT JOIN migration.run_leases l ON l.run_id = s.run_id
WHERE s.run_id IS DISTINCT FROM $1
  AND (l.state = 'held' OR (l.run_id IS NULL AND s.at > now() - make_interval(secs => $2)))
ORDER BY s.at;
