-- A run of this user is migrating now: a pre-image restore would write under it.
SELECT run_id FROM migration.run_leases WHERE user_id = $1::uuid AND state = 'held';
