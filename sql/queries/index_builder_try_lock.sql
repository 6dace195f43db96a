-- One index builder per target at a time; polled (with heartbeats) rather than waited on.
SELECT pg_try_advisory_lock(hashtextextended('migrator:indexes', 0)) AS locked;
