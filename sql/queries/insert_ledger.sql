-- The chunk's ledger row, committed in the same transaction as its target and bridge rows.
-- target_digest: the digest of the chunk's target rows as written (activities/row-digest.ts).
INSERT INTO migration.chunk_ledger
  (run_id, user_id, source_table, chunk_lo, chunk_hi, rows_read, rows_migrated, rows_inserted, rows_quarantined, rows_repaired, checksum, target_digest)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);
