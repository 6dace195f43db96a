-- Online delta pass: note ↔ folder links this run created, set to the source row's current values
-- (as insert_note_folders.sql). $2 = user_id.
UPDATE {{schema}}.note_folders t
SET folder_id = r.folder_id, added_at = r.added_at
FROM unnest($1::uuid[], $3::uuid[], $4::timestamptz[]) AS r (note_id, folder_id, added_at)
WHERE t.note_id = r.note_id AND t.user_id = $2::uuid;
