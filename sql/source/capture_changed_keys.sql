-- Online mode: the keys of one table changed after a sequence (validation skips them in its sample:
-- the target holds their state at the freeze, the source has moved on).
SELECT old_key AS k FROM _migrator_changes WHERE tbl = @tbl AND seq > @after AND old_key IS NOT NULL
UNION
SELECT new_key AS k FROM _migrator_changes WHERE tbl = @tbl AND seq > @after AND new_key IS NOT NULL;
