-- A run leaves an index it created that other runs still use: each of them now counts it as its
-- own creation, so the last of them to roll back drops it (a completed run keeps it: the app uses it).
INSERT INTO migration.created_indexes (run_id, index_name, index_set)
SELECT run_id, index_name, index_set FROM migration.index_users WHERE index_name = $1 AND run_id <> $2
ON CONFLICT DO NOTHING;
