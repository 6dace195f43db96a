-- Chunk write of folders. $2 = user_id.
INSERT INTO {{schema}}.folders (id, user_id, name_enc, props_enc, deleted, created_at, updated_at)
SELECT r.id, $2::uuid, r.name_enc, r.props_enc, r.deleted, r.created_at, r.updated_at
FROM unnest($1::uuid[], $3::bytea[], $4::bytea[], $5::boolean[], $6::timestamptz[], $7::timestamptz[])
  AS r (id, name_enc, props_enc, deleted, created_at, updated_at)
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
