-- Source side (SQLite): rows of the chunk (@lo, @hi] larger than @max bytes, keys and sizes only: they are
-- quarantined as ROW_TOO_LARGE and their content is never read.
-- `k > coalesce(@x, -9e999)`, not `@x IS NULL OR k > @x`: SQLite uses the index range only for the
-- former (the OR form scanned from the table's start for every chunk). -9e999 is -Infinity, below
-- every integer, text and blob key in SQLite's ordering.
SELECT k, bytes
FROM {{sized}}
WHERE k > coalesce(@lo, -9e999) AND k <= @hi AND bytes > @max
ORDER BY k;
