-- Everything retention may consider: unpruned full backups (migration_backups.full_backups, and the
-- per-run dumps of runs from before full backups were shared) and runs' own backups, with their
-- age and, for a run's, how the run ended (from migration_log): 'rollback-failed' wins over
-- anything else, then 'completed' (closed after its soak), then 'rolled-back', else 'not-finished';
-- full_backup_id: the full backup a run's pre-image says the run relied on.
WITH b AS (
  SELECT backup_id, run_id, kind, location, 'full'::text AS source, taken_at AS at, NULL::text AS full_backup_id
  FROM migration_backups.full_backups WHERE pruned_at IS NULL
  UNION ALL
  SELECT backup_id, run_id, kind, location, 'inventory', created_at, verification->>'fullBackupId'
  FROM migration.backup_inventory WHERE pruned_at IS NULL
)
SELECT b.backup_id, b.run_id, b.kind, b.location, b.source, b.at, b.full_backup_id,
       (extract(epoch FROM now() - b.at) / 3600)::float8 AS age_hours,
       CASE
         WHEN EXISTS (SELECT 1 FROM migration.migration_log l WHERE l.run_id = b.run_id AND l.phase = 'rollback' AND l.status = 'failed') THEN 'rollback-failed'
         WHEN EXISTS (SELECT 1 FROM migration.migration_log l WHERE l.run_id = b.run_id AND l.phase = 'run' AND l.status = 'closed') THEN 'completed'
         WHEN EXISTS (SELECT 1 FROM migration.migration_log l WHERE l.run_id = b.run_id AND l.phase = 'rollback' AND l.status = 'completed') THEN 'rolled-back'
         ELSE 'not-finished'
       END AS run_state
FROM b ORDER BY b.at DESC;
