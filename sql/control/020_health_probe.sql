-- The health probe's write target (idempotent): the probe's writes stay in the migrator's own
-- schema, one key per run, rolled back (activities/health.ts); nothing the app reads or triggers on.
CREATE TABLE IF NOT EXISTS migration.health_probe (
  run_key    text PRIMARY KEY,
  probed_at  timestamptz NOT NULL
);
