-- Source side (SQLite): each local_folders row's key and size in bytes over the columns the mapping reads
-- (see source_sized_local_notes.sql). Idempotent.
CREATE TEMP VIEW IF NOT EXISTS source_sized_local_folders AS
SELECT id AS k,
       coalesce(octet_length(id), 0) + coalesce(octet_length(name), 0) + coalesce(octet_length(parent_id), 0)
       + coalesce(octet_length(path), 0) + coalesce(octet_length(sort_order), 0) + coalesce(octet_length(color), 0)
       + coalesce(octet_length(icon), 0) + coalesce(octet_length(description), 0)
       + coalesce(octet_length(created_at), 0) + coalesce(octet_length(updated_at), 0)
       + coalesce(octet_length(deleted), 0) AS bytes
FROM local_folders;
