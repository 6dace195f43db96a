-- One backup by id: a run's own (inventory) or a target's full backup (shared by the runs of its window).
SELECT backup_id, run_id, kind, location, bytes, sha256, verified, verification, pruned_at
FROM migration.backup_inventory WHERE backup_id = $1
UNION ALL
SELECT backup_id, run_id, kind, location, bytes, sha256, true, verification || jsonb_build_object('method', method), pruned_at
FROM migration_backups.full_backups WHERE backup_id = $1;
