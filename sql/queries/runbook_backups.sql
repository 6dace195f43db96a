-- Every backup the target knows: full backups (shared per window; method = how it was verified)
-- and runs' own (source copy, pre-image). pruned_at: retention removed the file.
SELECT backup_id, run_id, NULL::text AS user_id, kind, method, location, bytes, sha256,
       true AS verified, taken_at AS created_at, pruned_at
FROM migration_backups.full_backups
UNION ALL
SELECT backup_id, run_id, user_id::text, kind, verification->>'method', location, bytes, sha256, verified, created_at, pruned_at
FROM migration.backup_inventory
ORDER BY created_at DESC;
