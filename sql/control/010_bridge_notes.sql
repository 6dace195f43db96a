-- Bridge table for notes (idempotent): source id → target id with per-row transform status.
-- created_row is true when this run's INSERT created the target row (what a rollback removes).
-- pending_parent holds a mapped parent id until the deferred self-reference is linked.
CREATE TABLE IF NOT EXISTS {{schema}}.schema_bridge_notes (
  user_id         uuid NOT NULL,
  local_id        text NOT NULL,
  remote_id       uuid,
  status          text NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'quarantined', 'repaired')),
  error_code      text,
  run_id          text NOT NULL,
  created_row     boolean NOT NULL DEFAULT false,
  pending_parent  uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, local_id)
);

-- The audit copy that post-migration moves this run's bridge rows into.
CREATE TABLE IF NOT EXISTS migration_archive.schema_bridge_notes (
  LIKE {{schema}}.schema_bridge_notes,
  archived_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, user_id, local_id)
);
