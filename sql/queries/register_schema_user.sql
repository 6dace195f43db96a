INSERT INTO migration.schema_users (run_id) VALUES ($1) ON CONFLICT (run_id) DO UPDATE SET at = now();
