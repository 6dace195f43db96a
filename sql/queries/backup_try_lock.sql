-- A backup advisory lock ($1: 'migrator:full-backup' on the target, 'migrator:scratch' on the
-- scratch server), session-level, without waiting: the caller polls and heartbeats.
SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked;
