-- Source side (SQLite): each note_tasks row's key and size in bytes over the columns the mapping reads
-- (see source_sized_local_notes.sql). Idempotent.
CREATE TEMP VIEW IF NOT EXISTS source_sized_note_tasks AS
SELECT id AS k,
       coalesce(octet_length(id), 0) + coalesce(octet_length(note_id), 0) + coalesce(octet_length(content), 0)
       + coalesce(octet_length(status), 0) + coalesce(octet_length(priority), 0) + coalesce(octet_length(due_date), 0)
       + coalesce(octet_length(completed_at), 0) + coalesce(octet_length(position), 0)
       + coalesce(octet_length(labels), 0) + coalesce(octet_length(parent_task_id), 0)
       + coalesce(octet_length(created_at), 0) + coalesce(octet_length(updated_at), 0)
       + coalesce(octet_length(deleted), 0) AS bytes
FROM note_tasks;
