-- Control tables of the orchestrator (idempotent), in their own schema so the application's
-- schema stays clean. They hold ids, counts, codes and checksums; never user content.
CREATE SCHEMA IF NOT EXISTS migration;

CREATE TABLE IF NOT EXISTS migration.migration_log (
  id       bigserial PRIMARY KEY,
  run_id   text NOT NULL,
  user_id  uuid,
  phase    text NOT NULL,
  status   text NOT NULL CHECK (status IN ('started', 'completed', 'failed', 'skipped', 'info', 'closed')),
  message  text NOT NULL DEFAULT '',
  at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS migration_log_run_idx ON migration.migration_log (run_id, id);

-- One row per committed chunk. The unique key makes a retried chunk a no-op (docs/design.md, law 3).
CREATE TABLE IF NOT EXISTS migration.chunk_ledger (
  run_id            text NOT NULL,
  user_id           uuid NOT NULL,
  source_table      text NOT NULL,
  chunk_lo          text NOT NULL,   -- exclusive lower bound of the source key ('' = start)
  chunk_hi          text NOT NULL,   -- inclusive upper bound
  rows_read         integer NOT NULL,
  rows_migrated     integer NOT NULL,
  rows_inserted     integer NOT NULL,
  rows_quarantined  integer NOT NULL,
  rows_repaired     integer NOT NULL,
  checksum          text NOT NULL,
  committed_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, source_table, chunk_lo)
);

CREATE TABLE IF NOT EXISTS migration.migration_quarantine (
  run_id        text NOT NULL,
  user_id       uuid NOT NULL,
  source_table  text NOT NULL,
  source_id     text NOT NULL,
  reason_code   text NOT NULL,
  detail        text NOT NULL DEFAULT '',  -- column name / SQLSTATE only, never a value
  at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, source_table, source_id)
);

CREATE TABLE IF NOT EXISTS migration.backup_inventory (
  backup_id    text PRIMARY KEY,
  run_id       text NOT NULL,
  user_id      uuid,
  kind         text NOT NULL CHECK (kind IN ('source-sqlite', 'target-pg_dump')),
  location     text NOT NULL,
  bytes        bigint NOT NULL,
  sha256       text NOT NULL,
  verified     boolean NOT NULL,
  verification jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Indexes a run created, so post-migration and rollback know which ones are theirs.
CREATE TABLE IF NOT EXISTS migration.created_indexes (
  run_id      text NOT NULL,
  index_name  text NOT NULL,
  index_set   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, index_name)
);

CREATE SCHEMA IF NOT EXISTS migration_archive;

-- The run lease: one migrating run per user and target database at a time, and a fencing token
-- for chunk writes. Every chunk transaction takes the lease row FOR SHARE and refuses to write
-- unless the lease is still held, so after a rollback released it no late chunk can commit.
CREATE TABLE IF NOT EXISTS migration.run_leases (
  run_id       text PRIMARY KEY,
  user_id      uuid NOT NULL,
  state        text NOT NULL CHECK (state IN ('held', 'released')),
  acquired_at  timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS run_leases_one_held_per_user ON migration.run_leases (user_id) WHERE state = 'held';
