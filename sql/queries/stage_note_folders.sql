-- The chunk's staging table for note-folder links (session-local, emptied by every commit): COPY
-- fills it, insert_note_folders.sql drains it into the app table. Columns in the mapping's encode() order.
CREATE TEMP TABLE IF NOT EXISTS migrator_stage_note_folders (
  note_id uuid, folder_id uuid, added_at timestamptz
) ON COMMIT DELETE ROWS;
