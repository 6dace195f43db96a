-- Chunk write of folders: the staged rows (drained) in one statement, existing ids untouched. $1 = user_id.
WITH s AS (DELETE FROM pg_temp.migrator_stage_folders RETURNING *)
INSERT INTO {{schema}}.folders (id, user_id, name_enc, props_enc, deleted, created_at, updated_at)
SELECT s.id, $1::uuid, s.name_enc, s.props_enc, s.deleted, s.created_at, s.updated_at
FROM s
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
