INSERT INTO migration.source_files (content_fingerprint, notes_fingerprint, user_id, run_id)
VALUES ($1, $2, $3, $4) ON CONFLICT (content_fingerprint) DO NOTHING;
