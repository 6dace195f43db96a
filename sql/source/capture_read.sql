-- Online mode: the next logged changes after a sequence, in order (keys only), bounded per pass.
SELECT seq, tbl, op, old_key, new_key FROM _migrator_changes WHERE seq > @after ORDER BY seq LIMIT @limit;
