-- The chunk's staging table for folders (session-local, emptied by every commit): COPY fills it,
-- insert_folders.sql drains it into the app table. Columns in the mapping's encode() order.
CREATE TEMP TABLE IF NOT EXISTS migrator_stage_folders (
  id uuid, name_enc bytea, props_enc bytea, deleted boolean, created_at timestamptz, updated_at timestamptz
) ON COMMIT DELETE ROWS;
