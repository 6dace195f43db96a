-- The app's benchmark queries, timed by the health probe. $1 = the probe's own
-- user id (not the migrating user, whose data grows during the run). Every statement in this folder
-- is read-only (they run in a READ ONLY transaction); the write probe is in write/, on the migrator's own table.
-- List a user's notes, newest first.
SELECT id, title_enc, updated_at FROM {{schema}}.notes WHERE user_id = $1::uuid AND NOT deleted ORDER BY updated_at DESC LIMIT 50;
