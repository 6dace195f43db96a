-- Verified, unpruned full backups younger than $1 hours, newest first (the caller checks the file).
SELECT backup_id, run_id, location, bytes, sha256, method, taken_at
FROM migration_backups.full_backups
WHERE pruned_at IS NULL AND taken_at > now() - make_interval(secs => $1::float8 * 3600)
ORDER BY taken_at DESC;
