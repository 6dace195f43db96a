SELECT key_check FROM migration.user_keys WHERE user_id = $1;
