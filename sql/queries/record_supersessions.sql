-- A completing run ($2) takes over the rows of this user ($1) that earlier runs created and that
-- are still in {{schema}}.{{table}}: it validated them. One row per earlier run (hot and archived bridge rows).
INSERT INTO migration.run_supersessions (user_id, run_id, superseded_by)
SELECT DISTINCT $1::uuid, b.run_id, $2 FROM (
  SELECT run_id, remote_id FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id <> $2 AND created_row
  UNION ALL
  SELECT run_id, remote_id FROM migration_archive.{{bridge}} WHERE user_id = $1::uuid AND run_id <> $2 AND created_row
) b
WHERE EXISTS (SELECT 1 FROM {{schema}}.{{table}} t WHERE t.{{key}} = b.remote_id AND t.user_id = $1::uuid)
ON CONFLICT DO NOTHING;
