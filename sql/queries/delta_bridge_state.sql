-- Online delta pass: the bridge rows of these source keys ({{bridge}} from the mapping).
SELECT local_id, remote_id::text AS remote_id, status, run_id, created_row
FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND local_id = ANY ($2::text[]);
