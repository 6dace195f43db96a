-- Digest of this user's migrated notes (bridged completed/repaired), as activities/row-digest.ts computes it.
-- $2: only these ids (then without the bridge: rows the chunk found already there), or NULL.
SELECT count(*)::int AS n, coalesce(sum(migration.dg_64(concat_ws(',',
  t.id::text, t.user_id::text, migration.dg_bytea(t.title_enc), migration.dg_bytea(t.props_enc),
  migration.dg_text(t.encrypted_metadata::text), coalesce(t.is_pinned::text, '~'), migration.dg_text(t.note_type),
  coalesce(t.deleted::text, '~'), migration.dg_ts(t.created_at), migration.dg_ts(t.updated_at)))), 0)::text AS digest
FROM {{schema}}.notes t
WHERE t.user_id = $1::uuid
  AND (CASE WHEN $2::uuid[] IS NULL
    THEN EXISTS (SELECT 1 FROM {{schema}}.{{bridge}} b
                 WHERE b.user_id = $1::uuid AND b.remote_id = t.id AND b.status IN ('completed', 'repaired'))
    ELSE t.id = ANY ($2::uuid[]) END);
