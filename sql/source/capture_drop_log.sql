-- Online mode: removes the change log once no trigger writes to it (idempotent).
DROP TABLE IF EXISTS _migrator_changes;
