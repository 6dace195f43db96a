-- Per-status counts of this user's bridge rows for one table.
SELECT status, count(*)::int AS n FROM {{schema}}.{{bridge}} WHERE user_id = $1::uuid GROUP BY status;
