-- The chunk's staging table for tasks (session-local, emptied by every commit): COPY fills it,
-- insert_note_tasks.sql drains it into the app table. Columns in the mapping's encode() order.
CREATE TEMP TABLE IF NOT EXISTS migrator_stage_note_tasks (
  id uuid, note_id uuid, content text, status text, priority integer, due_date timestamptz,
  completed_at timestamptz, position integer, labels jsonb, deleted boolean, created_at timestamptz,
  updated_at timestamptz
) ON COMMIT DELETE ROWS;
