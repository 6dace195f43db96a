-- Chunk write of tasks (parent_id is linked later: the self-reference is deferred). $2 = user_id.
INSERT INTO {{schema}}.note_tasks (id, user_id, note_id, content, status, priority, due_date, completed_at, position, labels, deleted, created_at, updated_at)
SELECT r.id, $2::uuid, r.note_id, r.content, r.status, r.priority, r.due_date, r.completed_at, r.position, r.labels, r.deleted, r.created_at, r.updated_at
FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::integer[], $7::timestamptz[], $8::timestamptz[], $9::integer[], $10::jsonb[], $11::boolean[], $12::timestamptz[], $13::timestamptz[])
  AS r (id, note_id, content, status, priority, due_date, completed_at, position, labels, deleted, created_at, updated_at)
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
