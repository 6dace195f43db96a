-- The target keys of the rows this run created (bridge rows still in the hot table).
SELECT remote_id::text AS id FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2 AND created_row;
