INSERT INTO migration.migration_log (run_id, user_id, phase, status, message) VALUES ($1, $2, $3, $4, $5);
