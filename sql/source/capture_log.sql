-- Online mode: the change log the capture triggers append to (idempotent). seq is the rowid, not
-- AUTOINCREMENT: AUTOINCREMENT would create sqlite_sequence in a source that has none, and removing
-- the capture must leave sqlite_master exactly as it was. Rows are never deleted while a run reads
-- the log, so rowids only grow. Keys only: the row itself is re-read from its table.
CREATE TABLE IF NOT EXISTS _migrator_changes (
  seq INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('I', 'U', 'D')),
  old_key TEXT,
  new_key TEXT
);
