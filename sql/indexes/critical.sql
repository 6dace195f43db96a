-- Critical indexes (built in the `indexes` phase, before the transfer): the ones the app's
-- hot queries and the migration's own foreign-key checks and cascades need. Built CONCURRENTLY,
-- one statement at a time, outside transactions; INVALID leftovers are dropped and rebuilt.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_user_updated_idx ON {{schema}}.notes (user_id, updated_at DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_tasks_note_id_idx ON {{schema}}.note_tasks (note_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_tasks_user_idx ON {{schema}}.note_tasks (user_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_tasks_parent_idx ON {{schema}}.note_tasks (parent_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS folders_user_idx ON {{schema}}.folders (user_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_folders_folder_idx ON {{schema}}.note_folders (folder_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_folders_user_idx ON {{schema}}.note_folders (user_id);
