-- The deferred self-reference: after every task chunk committed, point each task this run created
-- at its parent. Only parents owned by the same user are linked; rows that existed before the
-- run are never changed (the chunk marked unresolvable parents repaired).
UPDATE {{schema}}.note_tasks t
SET parent_id = b.pending_parent
FROM {{schema}}.schema_bridge_tasks b
JOIN {{schema}}.note_tasks p ON p.id = b.pending_parent AND p.user_id = $1::uuid
WHERE b.user_id = $1::uuid
  AND b.run_id = $2
  AND b.created_row
  AND b.pending_parent IS NOT NULL
  AND t.id = b.remote_id
  AND t.user_id = $1::uuid
  AND t.parent_id IS DISTINCT FROM b.pending_parent;
