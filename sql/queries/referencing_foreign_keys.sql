-- Every foreign key, in any schema, that references table $1: the referencing table and columns and
-- its ON DELETE action (a = no action, r = restrict, c = cascade, n = set null, d = set default).
SELECT rn.nspname AS schema, r.relname AS "table", array_agg(a.attname::text ORDER BY k.ord) AS columns, c.confdeltype AS on_delete
FROM pg_constraint c
JOIN pg_class r ON r.oid = c.conrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.confrelid = $1::regclass
GROUP BY c.oid, rn.nspname, r.relname, c.confdeltype
ORDER BY 1, 2;
