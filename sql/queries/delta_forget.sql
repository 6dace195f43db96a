-- Online delta pass: forget this run's mapping of these source keys (deleted in the source, or about
-- to be written again): delete their bridge rows and the target rows this run created for them
-- (created_row: never a row that existed before the run), and this run's quarantine rows for them.
WITH gone AS (
  DELETE FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND local_id = ANY ($3::text[])
  RETURNING remote_id, created_row
), unquarantined AS (
  DELETE FROM migration.migration_quarantine WHERE run_id = $2 AND source_table = $4 AND source_id = ANY ($3::text[])
)
DELETE FROM {{schema}}.{{table}} t USING gone g WHERE g.created_row AND t.{{key}} = g.remote_id AND t.user_id = $1::uuid;
