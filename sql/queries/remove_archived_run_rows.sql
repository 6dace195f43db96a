-- Rollback after post-migration archived the bridge: delete up to $3 created rows of this run.
DELETE FROM {{schema}}.{{table}} t
WHERE t.{{key}} IN (
  SELECT b.remote_id FROM migration_archive.{{bridge}} b
  JOIN {{schema}}.{{table}} x ON x.{{key}} = b.remote_id AND x.user_id = $1::uuid
  WHERE b.user_id = $1::uuid AND b.run_id = $2 AND b.created_row
  LIMIT $3
) AND t.user_id = $1::uuid;
