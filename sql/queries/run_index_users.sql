-- The indexes a run registered as a user of.
SELECT index_name FROM migration.index_users WHERE run_id = $1;
