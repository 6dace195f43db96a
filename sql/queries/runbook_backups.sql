SELECT backup_id, run_id, user_id::text AS user_id, kind, location, bytes, sha256, verified, created_at
FROM migration.backup_inventory ORDER BY created_at DESC;
