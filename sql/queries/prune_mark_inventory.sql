UPDATE migration.backup_inventory SET pruned_at = now() WHERE backup_id = $1 AND pruned_at IS NULL;
