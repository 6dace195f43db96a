SELECT run_id FROM migration.run_leases WHERE user_id = $1::uuid AND state = 'held';
