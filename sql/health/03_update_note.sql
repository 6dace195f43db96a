-- Update a note (rolled back with the create).
UPDATE notes SET updated_at = now(), is_pinned = true WHERE id = '00000000-0000-4000-8000-0000000f00d0' AND user_id = $1::uuid;
