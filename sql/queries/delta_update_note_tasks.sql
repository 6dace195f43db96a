-- Online delta pass: tasks this run created, set to the source row's current values (as
-- insert_note_tasks.sql). parent_id is cleared and relinked from the bridge's pending_parent in
-- the same transaction (link_task_parents.sql). $2 = user_id.
UPDATE {{schema}}.note_tasks t
SET note_id = r.note_id, content = r.content, status = r.status, priority = r.priority, due_date = r.due_date,
    completed_at = r.completed_at, position = r.position, labels = r.labels, deleted = r.deleted,
    created_at = r.created_at, updated_at = r.updated_at, parent_id = NULL
FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::integer[], $7::timestamptz[], $8::timestamptz[], $9::integer[], $10::jsonb[], $11::boolean[], $12::timestamptz[], $13::timestamptz[])
  AS r (id, note_id, content, status, priority, due_date, completed_at, position, labels, deleted, created_at, updated_at)
WHERE t.id = r.id AND t.user_id = $2::uuid;
