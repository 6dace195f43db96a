-- INVALID indexes of the application schema ($1) (an integrity trigger of the health guard).
SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND NOT i.indisvalid;
