SELECT backup_id, run_id, kind, location, bytes, sha256, verified, verification FROM migration.backup_inventory WHERE backup_id = $1;
