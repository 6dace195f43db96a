-- Create a note (the probe runs this inside a transaction it rolls back: nothing is left behind).
INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-0000000f00d0', $1::uuid, '\x00', '\x00', 'note', now(), now());
