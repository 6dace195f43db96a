-- Chunk write of tasks: the staged rows (drained), existing ids untouched; parent_id is linked later
-- (the self-reference is deferred). $1 = user_id.
WITH s AS (DELETE FROM pg_temp.migrator_stage_note_tasks RETURNING *)
INSERT INTO {{schema}}.note_tasks (id, user_id, note_id, content, status, priority, due_date, completed_at, position, labels, deleted, created_at, updated_at)
SELECT s.id, $1::uuid, s.note_id, s.content, s.status, s.priority, s.due_date, s.completed_at, s.position, s.labels, s.deleted, s.created_at, s.updated_at
FROM s
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
