-- Post-migration: move this user's bridge rows out of the hot schema into the audit archive.
WITH moved AS (
  DELETE FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid RETURNING *
)
INSERT INTO migration_archive.{{bridge}} SELECT moved.*, now() FROM moved
ON CONFLICT DO NOTHING;
