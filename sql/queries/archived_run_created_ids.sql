-- The target keys of the rows this run created whose bridge rows post-migration archived.
SELECT remote_id::text AS id FROM migration_archive.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND created_row;
