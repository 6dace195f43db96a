-- Chunk write of notes: column arrays in, one statement, existing ids untouched. $2 = user_id.
INSERT INTO {{schema}}.notes (id, user_id, title_enc, props_enc, encrypted_metadata, is_pinned, note_type, deleted, created_at, updated_at)
SELECT r.id, $2::uuid, r.title_enc, r.props_enc, r.encrypted_metadata, r.is_pinned, r.note_type, r.deleted, r.created_at, r.updated_at
FROM unnest($1::uuid[], $3::bytea[], $4::bytea[], $5::jsonb[], $6::boolean[], $7::text[], $8::boolean[], $9::timestamptz[], $10::timestamptz[])
  AS r (id, title_enc, props_enc, encrypted_metadata, is_pinned, note_type, deleted, created_at, updated_at)
ON CONFLICT (id) DO NOTHING
RETURNING id::text AS id;
