-- Search notes: by metadata and by task text.
SELECT n.id FROM {{schema}}.notes n WHERE n.user_id = $1::uuid AND n.encrypted_metadata @> '{"source": "email"}'
UNION
SELECT t.note_id FROM {{schema}}.note_tasks t WHERE t.user_id = $1::uuid AND t.content ILIKE '%review%'
LIMIT 50;
