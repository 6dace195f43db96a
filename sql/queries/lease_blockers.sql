-- Who holds the run's lease row locked: backends holding migration.run_leases in RowShareLock (a
-- SELECT ... FOR SHARE takes it for its whole transaction), those whose transaction id is the row's
-- xmax first (`exact`: the single locker; several lockers share a MultiXact id instead).
SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.state, a.xact_start::text AS xact_start,
       coalesce(a.backend_xid = r.xmax, false) AS exact
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
CROSS JOIN (SELECT xmax FROM migration.run_leases WHERE run_id = $1) r
WHERE l.locktype = 'relation' AND l.relation = 'migration.run_leases'::regclass AND l.granted
  AND l.mode = 'RowShareLock' AND a.pid <> pg_backend_pid()
ORDER BY exact DESC, a.xact_start;
