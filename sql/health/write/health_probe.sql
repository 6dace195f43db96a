-- The write probe: an upsert into the migrator's own table (sql/control/020_health_probe.sql), never
-- an app table, keyed per run ($1 = the run's key) so concurrent runs' probes never wait on each
-- other's row. Run in a transaction the probe rolls back: it measures the write path, keeps nothing.
INSERT INTO migration.health_probe (run_key, probed_at) VALUES ($1, now())
ON CONFLICT (run_key) DO UPDATE SET probed_at = excluded.probed_at;
