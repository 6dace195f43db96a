-- A verified full backup (a retried activity that recorded it already changes nothing).
INSERT INTO migration_backups.full_backups (backup_id, run_id, kind, location, bytes, sha256, method, verification, taken_at)
VALUES ($1, $2, 'target-pg_dump', $3, $4, $5, $6, $7, $8)
ON CONFLICT (backup_id) DO NOTHING;
