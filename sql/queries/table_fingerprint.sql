-- Order-independent fingerprint of a table: row count and the sum of 64-bit prefixes of each
-- row's md5. {{table}} is a schema-qualified name from the catalog (quoted by the caller).
SELECT count(*)::bigint AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS checksum
FROM {{table}} t;
