-- Source side (SQLite): each local_notes row's key and size in bytes, summed over the columns the mapping
-- reads. octet_length() is answered from the record header (the content is not loaded), so sizing a
-- table costs an index walk. A TEMP view: created on the read-only connection, idempotent.
CREATE TEMP VIEW IF NOT EXISTS source_sized_local_notes AS
SELECT id AS k,
       coalesce(octet_length(id), 0) + coalesce(octet_length(title), 0) + coalesce(octet_length(body), 0)
       + coalesce(octet_length(updated_at), 0) + coalesce(octet_length(deleted), 0)
       + coalesce(octet_length(encrypted_metadata), 0) + coalesce(octet_length(is_pinned), 0)
       + coalesce(octet_length(note_type), 0) AS bytes
FROM local_notes;
