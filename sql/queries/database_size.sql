-- Size of the connected database in bytes: the basis of the backup's free-space estimate.
SELECT pg_database_size(current_database())::bigint AS bytes;
