-- A run uses this index (it created it or found it there).
INSERT INTO migration.index_users (index_name, run_id, index_set) VALUES ($2, $1, $3) ON CONFLICT DO NOTHING;
