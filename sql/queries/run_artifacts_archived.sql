-- What of a run is still in the target once its live bridge table is gone (post-migration
-- archived the bridge rows, and the empty bridge table was dropped): created rows still present.
SELECT '{{table}}' AS object, count(*)::int AS n FROM {{schema}}.{{table}} t
WHERE t.user_id = $1::uuid AND t.{{key}} IN (
  SELECT remote_id FROM migration_archive.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND created_row
);
