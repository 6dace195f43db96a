-- A rolled-back run's registrations go with it (a key check another run of the user relies on stays:
-- it was recorded by that run, under its run id).
WITH files AS (DELETE FROM migration.source_files WHERE run_id = $1)
DELETE FROM migration.user_keys WHERE run_id = $1;
