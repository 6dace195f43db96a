-- A user's pinned notes (notes_user_updated_idx / notes_user_pinned_idx): the app's sidebar.
SELECT id, updated_at FROM {{schema}}.notes WHERE user_id = $1::uuid AND is_pinned AND NOT deleted ORDER BY updated_at DESC LIMIT 20;
