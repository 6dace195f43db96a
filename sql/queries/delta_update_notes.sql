-- Online delta pass: notes this run created, set to the source row's current values (column
-- arrays in, as insert_notes.sql). The caller passes only ids whose bridge row says this run
-- created them, so no row that existed before the run is changed. $2 = user_id.
UPDATE {{schema}}.notes t
SET title_enc = r.title_enc, props_enc = r.props_enc, encrypted_metadata = r.encrypted_metadata, is_pinned = r.is_pinned,
    note_type = r.note_type, deleted = r.deleted, created_at = r.created_at, updated_at = r.updated_at
FROM unnest($1::uuid[], $3::bytea[], $4::bytea[], $5::jsonb[], $6::boolean[], $7::text[], $8::boolean[], $9::timestamptz[], $10::timestamptz[])
  AS r (id, title_enc, props_enc, encrypted_metadata, is_pinned, note_type, deleted, created_at, updated_at)
WHERE t.id = r.id AND t.user_id = $2::uuid;
