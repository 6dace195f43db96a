-- Which of these ids exist in {{schema}}.{{table}}, and who owns them ({{key}} is the table's uuid key).
SELECT {{key}}::text AS id, user_id::text AS user_id FROM {{schema}}.{{table}} WHERE {{key}} = ANY ($1::uuid[]);
