INSERT INTO migration.user_keys (user_id, key_check, run_id) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING;
