-- Chunk write of notes: the staged rows (drained) in one statement, existing ids untouched. $1 = user_id.
WITH s AS (DELETE FROM pg_temp.migrator_stage_notes RETURNING *)
INSERT INTO {{schema}}.notes (id, user_id, title_enc, props_enc, encrypted_metadata, is_pinned, note_type, deleted, created_at, updated_at)
SELECT s.id, $1::uuid, s.title_enc, s.props_enc, s.encrypted_metadata, s.is_pinned, s.note_type, s.deleted, s.created_at, s.updated_at
FROM s
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
