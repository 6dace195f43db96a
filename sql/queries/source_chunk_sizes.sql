-- Source side (SQLite): keys and sizes of the next rows after @after, in key order (ids and numbers only:
-- the plan never reads row content). The caller asks for one row more than a chunk may hold, to know
-- whether the table continues.
SELECT k, bytes
FROM {{sized}}
WHERE (@after IS NULL OR k > @after)
ORDER BY k
LIMIT @limit;
