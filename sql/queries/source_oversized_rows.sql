-- Source side (SQLite): rows of the chunk (@lo, @hi] larger than @max bytes, keys and sizes only: they are
-- quarantined as ROW_TOO_LARGE and their content is never read.
SELECT k, bytes
FROM {{sized}}
WHERE (@lo IS NULL OR k > @lo) AND k <= @hi AND bytes > @max
ORDER BY k;
