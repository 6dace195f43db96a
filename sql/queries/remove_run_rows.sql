-- Rollback, one batch: move up to $3 of this run's bridge rows to the archive and delete the
-- target rows this run created (created_row), never rows that existed before the run.
WITH batch AS (
  DELETE FROM {{schema}}.{{bridge}}
  WHERE ctid IN (SELECT ctid FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 LIMIT $3)
  RETURNING *
), archived AS (
  INSERT INTO migration_archive.{{bridge}} SELECT batch.*, now() FROM batch ON CONFLICT DO NOTHING
)
DELETE FROM {{schema}}.{{table}} t USING batch b
WHERE b.created_row AND t.{{key}} = b.remote_id AND t.user_id = $1::uuid;
