-- What this run's chunk ledger recorded for one table: chunks, rows, the chunks' source checksums
-- (summed by the reader) and the sum of their target-row digests; chunks written before digests were
-- recorded are counted in `undigested` (validation then decrypts every row instead).
SELECT count(*)::int AS chunks,
       count(*) FILTER (WHERE target_digest IS NULL)::int AS undigested,
       coalesce(sum(rows_migrated), 0)::bigint::text AS migrated,
       coalesce(sum(target_digest::numeric), 0)::text AS digest,
       coalesce(array_agg(checksum), '{}') AS checksums
FROM migration.chunk_ledger WHERE run_id = $1 AND source_table = $2;
