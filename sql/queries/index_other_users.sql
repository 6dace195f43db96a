-- The other runs still using an index.
SELECT run_id FROM migration.index_users WHERE index_name = $1 AND run_id <> $2 ORDER BY since;
