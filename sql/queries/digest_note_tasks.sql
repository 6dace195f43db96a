-- Digest of this user's migrated tasks (bridged completed/repaired), as activities/row-digest.ts computes it;
-- parent_id is left out (linked after the chunks). $2: only these ids (then without the bridge), or NULL.
SELECT count(*)::int AS n, coalesce(sum(migration.dg_64(concat_ws(',',
  t.id::text, t.user_id::text, coalesce(t.note_id::text, '~'), migration.dg_text(t.content), migration.dg_text(t.status),
  coalesce(t.priority::text, '~'), migration.dg_ts(t.due_date), migration.dg_ts(t.completed_at),
  coalesce(t.position::text, '~'), migration.dg_text(t.labels::text), coalesce(t.deleted::text, '~'),
  migration.dg_ts(t.created_at), migration.dg_ts(t.updated_at)))), 0)::text AS digest
FROM {{schema}}.note_tasks t
WHERE t.user_id = $1::uuid
  AND (CASE WHEN $2::uuid[] IS NULL
    THEN EXISTS (SELECT 1 FROM {{schema}}.{{bridge}} b
                 WHERE b.user_id = $1::uuid AND b.remote_id = t.id AND b.status IN ('completed', 'repaired'))
    ELSE t.id = ANY ($2::uuid[]) END);
