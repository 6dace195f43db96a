-- The chunk's ledger row without a target digest: a target whose control schema predates target_digest
-- (a run whose schema phase ran on an older build). Same transaction as the chunk's target and bridge rows.
INSERT INTO migration.chunk_ledger
  (run_id, user_id, source_table, chunk_lo, chunk_hi, rows_read, rows_migrated, rows_inserted, rows_quarantined, rows_repaired, checksum)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);
