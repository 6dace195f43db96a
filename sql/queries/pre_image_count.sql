-- One user's rows of a table in the pre-image's snapshot: their number (what the file must hold)
-- and their size (the free-space estimate). {{table}} comes from the mapping, never from input.
SELECT count(*)::bigint AS rows, coalesce(sum(pg_column_size(t.*)), 0)::bigint AS bytes
FROM {{table}} t WHERE t.user_id = $1::uuid;
