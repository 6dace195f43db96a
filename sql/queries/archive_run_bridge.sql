-- Runbook clean: move one run's bridge rows of this user (not other runs') into the audit archive.
WITH moved AS (
  DELETE FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 RETURNING *
)
INSERT INTO migration_archive.{{bridge}} SELECT moved.*, now() FROM moved
ON CONFLICT DO NOTHING;
