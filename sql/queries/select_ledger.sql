-- A chunk already committed by this run (a retry returns its recorded result and writes nothing).
SELECT rows_read, rows_migrated, rows_inserted, rows_quarantined, rows_repaired, checksum
FROM migration.chunk_ledger WHERE run_id = $1 AND source_table = $2 AND chunk_lo = $3;
