-- Indexes of the application schema ($1) with validity, for the target fingerprint.
SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def, i.indisvalid AS valid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 ORDER BY 1;
