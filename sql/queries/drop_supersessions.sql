-- A run rolled back: it no longer owns the rows it took over from earlier runs.
DELETE FROM migration.run_supersessions WHERE user_id = $1::uuid AND superseded_by = $2;
