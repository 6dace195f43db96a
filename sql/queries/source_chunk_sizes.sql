-- Source side (SQLite): keys and sizes of the next rows after @after, in key order (ids and numbers only:
-- the plan never reads row content). The caller asks for one row more than a chunk may hold, to know
-- whether the table continues.
-- `k > coalesce(@x, -9e999)`, not `@x IS NULL OR k > @x`: SQLite uses the index range only for the
-- former (the OR form scanned from the table's start for every chunk). -9e999 is -Infinity, below
-- every integer, text and blob key in SQLite's ordering.
SELECT k, bytes
FROM {{sized}}
WHERE k > coalesce(@after, -9e999)
ORDER BY k
LIMIT @limit;
