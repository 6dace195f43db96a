-- Chunk write of note ↔ folder links: the staged rows (drained), existing ids untouched. $1 = user_id.
WITH s AS (DELETE FROM pg_temp.migrator_stage_note_folders RETURNING *)
INSERT INTO {{schema}}.note_folders (note_id, user_id, folder_id, added_at)
SELECT s.note_id, $1::uuid, s.folder_id, s.added_at
FROM s
ON CONFLICT (note_id) DO NOTHING
RETURNING note_id::text AS id;
