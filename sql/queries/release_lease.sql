-- Releases (fences) the lease: waits for in-flight chunk transactions holding it FOR SHARE.
UPDATE migration.run_leases SET state = 'released', released_at = now() WHERE run_id = $1 AND state = 'held';
