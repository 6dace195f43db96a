-- Fingerprint of one user's rows of a table that has a user_id column (a shared target: other
-- users' runs and the app may write other rows meanwhile). {{table}} is quoted by the caller.
SELECT count(*)::bigint AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS checksum
FROM {{table}} t WHERE t.user_id = $1::uuid;
