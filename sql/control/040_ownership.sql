-- Who a key and a source file belong to (docs/security.md "Source files and keys belong to their user").
-- Idempotent. Holds HMACs and hashes only: neither a key nor a note id can be read back from them.

-- One key check value per user: HMAC-SHA256(key, 'key-check:' || user_id), recorded by the user's first
-- run on this target. A later run of the same user with a different key is refused before it writes.
CREATE TABLE IF NOT EXISTS migration.user_keys (
  user_id        uuid PRIMARY KEY,
  key_check      text NOT NULL,
  run_id         text NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now()
);

-- Source files migrated on this target, by fingerprint: the sorted non-system note ids (stable while
-- the file changes) and the first page plus those ids (this exact content). The same file for a
-- different user is refused. A run's rollback removes the rows it registered.
CREATE TABLE IF NOT EXISTS migration.source_files (
  content_fingerprint  text PRIMARY KEY,
  notes_fingerprint    text NOT NULL,
  user_id              uuid NOT NULL,
  run_id               text NOT NULL,
  registered_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS source_files_notes_idx ON migration.source_files (notes_fingerprint);
