-- Other users a source file (either fingerprint) is registered to on this target.
SELECT DISTINCT user_id::text AS user_id FROM migration.source_files
 WHERE (content_fingerprint = $1 OR notes_fingerprint = $2) AND user_id <> $3
 ORDER BY 1 LIMIT 5;
