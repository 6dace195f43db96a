-- Post-migration indexes (built in the `post-migration` phase) for the app's list, search and task views.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_user_pinned_idx ON {{schema}}.notes (user_id, is_pinned) WHERE NOT deleted;
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_user_type_idx ON {{schema}}.notes (user_id, note_type) WHERE NOT deleted;
CREATE INDEX CONCURRENTLY IF NOT EXISTS note_tasks_user_due_idx ON {{schema}}.note_tasks (user_id, due_date) WHERE NOT deleted AND status = 'pending';
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_metadata_gin_idx ON {{schema}}.notes USING gin (encrypted_metadata jsonb_path_ops);
