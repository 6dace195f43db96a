-- Inside a chunk transaction: the fencing check. Blocks a concurrent release until commit.
SELECT state FROM migration.run_leases WHERE run_id = $1 FOR SHARE;
