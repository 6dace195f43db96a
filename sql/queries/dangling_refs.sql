-- Dangling references of one user's rows (foreign keys may be absent on an existing target).
SELECT 'note_tasks.note_id' AS ref, count(*)::int AS n FROM {{schema}}.note_tasks t
  WHERE t.user_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM {{schema}}.notes n WHERE n.id = t.note_id AND n.user_id = t.user_id)
UNION ALL
SELECT 'note_tasks.parent_id', count(*)::int FROM {{schema}}.note_tasks t
  WHERE t.user_id = $1::uuid AND t.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.note_tasks p WHERE p.id = t.parent_id AND p.user_id = t.user_id)
UNION ALL
SELECT 'note_folders.note_id', count(*)::int FROM {{schema}}.note_folders f
  WHERE f.user_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM {{schema}}.notes n WHERE n.id = f.note_id AND n.user_id = f.user_id)
UNION ALL
SELECT 'note_folders.folder_id', count(*)::int FROM {{schema}}.note_folders f
  WHERE f.user_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM {{schema}}.folders d WHERE d.id = f.folder_id AND d.user_id = f.user_id);
