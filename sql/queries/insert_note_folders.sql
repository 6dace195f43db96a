-- Chunk write of note ↔ folder links. $2 = user_id.
INSERT INTO {{schema}}.note_folders (note_id, user_id, folder_id, added_at)
SELECT r.note_id, $2::uuid, r.folder_id, r.added_at
FROM unnest($1::uuid[], $3::uuid[], $4::timestamptz[]) AS r (note_id, folder_id, added_at)
ON CONFLICT (note_id) DO NOTHING
RETURNING note_id::text AS id;
