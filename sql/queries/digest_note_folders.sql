-- Digest of this user's migrated note-folder links (bridged completed/repaired), as activities/row-digest.ts computes it.
-- $2: only these note ids (then without the bridge: rows the chunk found already there), or NULL.
SELECT count(*)::int AS n, coalesce(sum(migration.dg_64(concat_ws(',',
  t.note_id::text, t.user_id::text, coalesce(t.folder_id::text, '~'), migration.dg_ts(t.added_at)))), 0)::text AS digest
FROM {{schema}}.note_folders t
WHERE t.user_id = $1::uuid
  AND (CASE WHEN $2::uuid[] IS NULL
    THEN EXISTS (SELECT 1 FROM {{schema}}.{{bridge}} b
                 WHERE b.user_id = $1::uuid AND b.remote_id = t.note_id AND b.status IN ('completed', 'repaired'))
    ELSE t.note_id = ANY ($2::uuid[]) END);
