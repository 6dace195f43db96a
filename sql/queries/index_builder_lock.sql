SELECT pg_advisory_lock(hashtextextended('migrator:indexes', 0));
