-- The final delta pass: this table's target digest once the last changes are applied (same transaction).
INSERT INTO migration.freeze_digest (run_id, user_id, source_table, target_rows, target_digest)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (run_id, source_table) DO UPDATE
SET target_rows = EXCLUDED.target_rows, target_digest = EXCLUDED.target_digest, recorded_at = now();
