-- Which of these source ids the bridge marks quarantined (refused at write time: ID_CONFLICT, TARGET_REJECTED).
SELECT local_id FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND local_id = ANY ($2::text[]) AND status = 'quarantined';
