-- Backups that scale (idempotent; docs/design.md "Backups"): one verified full backup per target per
-- window, shared by every run in it, and per run a pre-image of exactly the rows it can change.
-- The backup phase runs this file itself (before the schema phase) to find or record the full
-- backup; ensureSchema runs it again with the other control files.
--
-- The registry of full backups has a schema of its own, which pg_dump leaves out
-- (--exclude-schema=migration_backups) and fingerprints skip: restoring a backup in place must not
-- roll back the record of the backups themselves, and a schema the dump never holds is one its
-- --clean restore never drops. This file creates nothing else before the schema phase.
CREATE SCHEMA IF NOT EXISTS migration_backups;

-- Full backups of this database. A run accepts the newest verified, unpruned one younger than the
-- target's fullBackupMaxAgeHours whose file is still there; otherwise it takes one (under the
-- full-backup advisory lock, so one at a time per target).
CREATE TABLE IF NOT EXISTS migration_backups.full_backups (
  backup_id     text PRIMARY KEY,
  run_id        text NOT NULL,            -- the run (or rollout) that took it
  kind          text NOT NULL CHECK (kind IN ('target-pg_dump')),
  location      text NOT NULL,
  bytes         bigint NOT NULL,
  sha256        text NOT NULL,
  -- 'scratch-restore': restored on the scratch server and fingerprinted equal; 'list-only': no
  -- scratch server configured, pg_restore --list + sha256 + size only (weaker: see docs).
  method        text NOT NULL CHECK (method IN ('scratch-restore', 'list-only')),
  verification  jsonb NOT NULL DEFAULT '{}'::jsonb,
  taken_at      timestamptz NOT NULL,
  verified_at   timestamptz NOT NULL DEFAULT now(),
  pruned_at     timestamptz
);
CREATE INDEX IF NOT EXISTS full_backups_recent_idx ON migration_backups.full_backups (taken_at DESC) WHERE pruned_at IS NULL;

-- Per-run backups may be pre-images now, and are pruned by retention (the row stays, marked).
DO $$
BEGIN
  -- Run alone by the backup phase on a fresh target, before 001 made the inventory: nothing to do yet.
  IF to_regclass('migration.backup_inventory') IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = 'migration' AND table_name = 'backup_inventory' AND column_name = 'pruned_at'
  ) THEN
    ALTER TABLE migration.backup_inventory ADD COLUMN pruned_at timestamptz;
  END IF;
  IF EXISTS (
    SELECT 1 FROM pg_constraint
    WHERE conrelid = 'migration.backup_inventory'::regclass AND conname = 'backup_inventory_kind_check'
      AND pg_get_constraintdef(oid) NOT LIKE '%target-pre-image%'
  ) THEN
    ALTER TABLE migration.backup_inventory DROP CONSTRAINT backup_inventory_kind_check;
    ALTER TABLE migration.backup_inventory ADD CONSTRAINT backup_inventory_kind_check
      CHECK (kind IN ('source-sqlite', 'target-pg_dump', 'target-pre-image'));
  END IF;
END
$$;
