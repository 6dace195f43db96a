SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.columns
WHERE table_schema = $1 AND column_name = 'user_id' AND data_type = 'uuid';
