-- Open one note by id (the primary key's index; the probe user owns no rows, so it finds none).
-- Read-only, like every file here: the probe runs them in a READ ONLY transaction, so it takes no
-- row locks other probes or the app would wait on and fires none of the app's triggers.
SELECT id, title_enc, props_enc, is_pinned, updated_at FROM {{schema}}.notes WHERE id = '00000000-0000-4000-8000-0000000f00d0' AND user_id = $1::uuid;
