SELECT index_name FROM migration.created_indexes WHERE run_id = $1;
