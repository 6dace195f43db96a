-- Whether an index exists in the app schema ($2) and is valid (an interrupted CONCURRENTLY build leaves it INVALID).
SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = $1 AND n.nspname = $2;
