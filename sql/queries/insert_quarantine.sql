-- Quarantined rows of one chunk: source id, reason code and the column at fault (no values).
INSERT INTO migration.migration_quarantine (run_id, user_id, source_table, source_id, reason_code, detail)
SELECT $1::text, $2::uuid, $3::text, r.source_id, r.reason_code, r.detail
FROM unnest($4::text[], $5::text[], $6::text[]) AS r (source_id, reason_code, detail)
ON CONFLICT (run_id, source_table, source_id) DO NOTHING;
