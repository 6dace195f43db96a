-- One page of this user's migrated rows of {{schema}}.{{table}} (keyset over the uuid key), for validation.
SELECT t.* FROM {{schema}}.{{table}} t
JOIN {{schema}}.{{bridge}} b ON b.user_id = $1::uuid AND b.remote_id = t.{{key}} AND b.status IN ('completed', 'repaired')
WHERE t.user_id = $1::uuid AND ($2::uuid IS NULL OR t.{{key}} > $2::uuid)
ORDER BY t.{{key}}
LIMIT $3;
