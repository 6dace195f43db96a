-- What of a run is still in the target: created rows still present per table.
SELECT '{{table}}' AS object, count(*)::int AS n FROM {{schema}}.{{table}} t
WHERE t.user_id = $1::uuid AND t.{{key}} IN (
  SELECT remote_id FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND created_row
  UNION ALL
  SELECT remote_id FROM migration_archive.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND created_row
);
