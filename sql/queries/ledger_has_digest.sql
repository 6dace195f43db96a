-- Whether this target's control schema records target digests (sql/control/040_row_digest.sql applied):
-- a run whose schema phase ran on an older build has no such column until a later schema phase adds it.
SELECT EXISTS (
  SELECT 1 FROM information_schema.columns
  WHERE table_schema = 'migration' AND table_name = 'chunk_ledger' AND column_name = 'target_digest'
) AND to_regprocedure('migration.dg_64(text)') IS NOT NULL AS ready;
