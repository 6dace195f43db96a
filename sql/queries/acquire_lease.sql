-- Takes the run lease (idempotent for the same run; the partial unique index refuses a second
-- held lease for the user). Returns the run holding the user's lease after the attempt.
INSERT INTO migration.run_leases (run_id, user_id, state) VALUES ($1, $2::uuid, 'held')
ON CONFLICT DO NOTHING;
