-- The deferred self-reference: after every task chunk committed, point each task at its parent.
-- Only parents owned by the same user are linked; the rest stay NULL (the chunk marked them repaired).
UPDATE note_tasks t
SET parent_id = b.pending_parent
FROM public.schema_bridge_tasks b
JOIN note_tasks p ON p.id = b.pending_parent AND p.user_id = $1::uuid
WHERE b.user_id = $1::uuid
  AND b.pending_parent IS NOT NULL
  AND t.id = b.remote_id
  AND t.user_id = $1::uuid
  AND t.parent_id IS DISTINCT FROM b.pending_parent;
