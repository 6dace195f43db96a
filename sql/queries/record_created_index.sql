INSERT INTO migration.created_indexes (run_id, index_name, index_set) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;
