-- Specific rows of {{schema}}.{{table}} by id, for the random-sample deep compare.
SELECT t.* FROM {{schema}}.{{table}} t WHERE t.{{key}} = ANY ($1::uuid[]) AND t.user_id = $2::uuid;
