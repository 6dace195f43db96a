-- Serialises concurrent attempts at the same chunk (a retry racing a slow first attempt).
SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/' || $3, 0));
