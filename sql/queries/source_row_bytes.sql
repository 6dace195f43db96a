-- Source side (SQLite): one row's size in bytes (see source_sized_local_notes.sql), by key.
SELECT bytes
FROM {{sized}}
WHERE k = @key;
