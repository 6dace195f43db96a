-- Bridge rows of one chunk. {{bridge}} is a bridge table name from the mapping (never input).
-- A row already mapped by an earlier run keeps its original run_id and created_row.
INSERT INTO public.{{bridge}} (user_id, local_id, remote_id, status, error_code, run_id, created_row, pending_parent)
SELECT $1::uuid, r.local_id, r.remote_id, r.status, r.error_code, $2::text, r.created_row, r.pending_parent
FROM unnest($3::text[], $4::uuid[], $5::text[], $6::text[], $7::boolean[], $8::uuid[])
  AS r (local_id, remote_id, status, error_code, created_row, pending_parent)
ON CONFLICT (user_id, local_id) DO NOTHING;
