-- The later runs that completed over this run's rows (their data now), oldest first.
SELECT superseded_by, at FROM migration.run_supersessions WHERE user_id = $1::uuid AND run_id = $2 ORDER BY at, superseded_by;
