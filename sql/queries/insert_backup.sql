-- Backup inventory row (a retried activity records the same backup once).
INSERT INTO migration.backup_inventory (backup_id, run_id, user_id, kind, location, bytes, sha256, verified, verification)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (backup_id) DO NOTHING;
