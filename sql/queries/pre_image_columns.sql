-- A table's columns in order (what each COPY line of a pre-image holds).
SELECT attname::text AS name FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum;
