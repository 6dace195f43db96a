SELECT count(*)::int AS n FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid AND run_id = $2;
