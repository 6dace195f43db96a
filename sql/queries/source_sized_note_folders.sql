-- Source side (SQLite): each note_folders row's key and size in bytes over the columns the mapping reads
-- (see source_sized_local_notes.sql). Idempotent.
CREATE TEMP VIEW IF NOT EXISTS source_sized_note_folders AS
SELECT note_id AS k,
       coalesce(octet_length(note_id), 0) + coalesce(octet_length(folder_id), 0)
       + coalesce(octet_length(added_at), 0) AS bytes
FROM note_folders;
