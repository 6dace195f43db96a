-- Live runs other than this one ($1; NULL = any run counts).
SELECT run_id FROM migration.run_leases WHERE state = 'held' AND run_id IS DISTINCT FROM $1 ORDER BY acquired_at;
