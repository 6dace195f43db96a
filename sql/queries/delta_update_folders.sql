-- Online delta pass: folders this run created, set to the source row's current values (as
-- insert_folders.sql). $2 = user_id.
UPDATE {{schema}}.folders t
SET name_enc = r.name_enc, props_enc = r.props_enc, deleted = r.deleted, created_at = r.created_at, updated_at = r.updated_at
FROM unnest($1::uuid[], $3::bytea[], $4::bytea[], $5::boolean[], $6::timestamptz[], $7::timestamptz[])
  AS r (id, name_enc, props_enc, deleted, created_at, updated_at)
WHERE t.id = r.id AND t.user_id = $2::uuid;
