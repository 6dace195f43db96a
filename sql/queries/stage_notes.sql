-- The chunk's staging table for notes (session-local, emptied by every commit): COPY fills it,
-- insert_notes.sql drains it into the app table. Columns in the mapping's encode() order.
CREATE TEMP TABLE IF NOT EXISTS migrator_stage_notes (
  id uuid, title_enc bytea, props_enc bytea, encrypted_metadata jsonb, is_pinned boolean, note_type text,
  deleted boolean, created_at timestamptz, updated_at timestamptz
) ON COMMIT DELETE ROWS;
