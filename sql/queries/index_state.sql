-- Whether an index exists in the search path and is valid (an interrupted CONCURRENTLY build leaves it INVALID).
SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relname = $1 AND pg_catalog.pg_table_is_visible(c.oid);
