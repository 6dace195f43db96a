-- Temporary indexes that serve the migration itself (bridge look-ups by run, the deferred
-- parent link). Built in the `indexes` phase, dropped in `post-migration`.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_tasks_pending_parent_idx ON {{schema}}.schema_bridge_tasks (user_id) WHERE pending_parent IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_notes_run_idx ON {{schema}}.schema_bridge_notes (run_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_tasks_run_idx ON {{schema}}.schema_bridge_tasks (run_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_folders_run_idx ON {{schema}}.schema_bridge_folders (run_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_note_folders_run_idx ON {{schema}}.schema_bridge_note_folders (run_id);
-- Validation re-reads this user's migrated rows page by page, joined to the bridge by remote id.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_notes_remote_idx ON {{schema}}.schema_bridge_notes (user_id, remote_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_tasks_remote_idx ON {{schema}}.schema_bridge_tasks (user_id, remote_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_folders_remote_idx ON {{schema}}.schema_bridge_folders (user_id, remote_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS tmp_bridge_note_folders_remote_idx ON {{schema}}.schema_bridge_note_folders (user_id, remote_id);
