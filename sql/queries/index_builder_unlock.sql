SELECT pg_advisory_unlock(hashtextextended('migrator:indexes', 0));
