UPDATE migration_backups.full_backups SET pruned_at = now() WHERE backup_id = $1 AND pruned_at IS NULL;
