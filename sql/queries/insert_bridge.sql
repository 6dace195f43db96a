-- Bridge rows of one chunk. {{bridge}} is a bridge table name from the mapping (never input).
-- A row already mapped by an earlier run keeps its run_id, unless this run created the target
-- row (a leftover bridge row of a rolled-back run): then this run takes it over, so its own
-- rollback finds it.
INSERT INTO {{schema}}.{{bridge}} (user_id, local_id, remote_id, status, error_code, run_id, created_row, pending_parent)
SELECT $1::uuid, r.local_id, r.remote_id, r.status, r.error_code, $2::text, r.created_row, r.pending_parent
FROM unnest($3::text[], $4::uuid[], $5::text[], $6::text[], $7::boolean[], $8::uuid[])
  AS r (local_id, remote_id, status, error_code, created_row, pending_parent)
ON CONFLICT (user_id, local_id) DO UPDATE
SET remote_id = EXCLUDED.remote_id, status = EXCLUDED.status, error_code = EXCLUDED.error_code, run_id = EXCLUDED.run_id,
    created_row = true, pending_parent = EXCLUDED.pending_parent, updated_at = now()
WHERE EXCLUDED.created_row;
