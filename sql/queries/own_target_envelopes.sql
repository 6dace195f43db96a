-- A few of this user's encrypted titles already in the target (notes, then folders): they must open with the key.
(SELECT id::text AS id, title_enc AS enc FROM {{schema}}.notes WHERE user_id = $1 LIMIT 3)
UNION ALL
(SELECT id::text AS id, name_enc AS enc FROM {{schema}}.folders WHERE user_id = $1 LIMIT 3);
