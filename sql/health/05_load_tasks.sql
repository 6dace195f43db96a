-- Load the task list: open tasks by due date.
SELECT id, content, due_date, priority FROM {{schema}}.note_tasks WHERE user_id = $1::uuid AND NOT deleted AND status = 'pending' ORDER BY due_date NULLS LAST LIMIT 100;
