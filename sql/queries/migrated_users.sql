-- Users whose migration into this target completed (a run closed after validation passed).
SELECT DISTINCT user_id::text AS user_id FROM migration.migration_log
WHERE phase = 'run' AND status = 'closed' AND user_id = ANY ($1::uuid[]);
