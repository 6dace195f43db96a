-- Rollback: lock the rows about to be deleted. FOR UPDATE conflicts with the FOR KEY SHARE lock an
-- insert of a referencing row takes, so no new dependent can appear until the delete commits.
SELECT count(*)::int AS n FROM (SELECT 1 FROM {{schema}}.{{table}} WHERE {{key}} = ANY($1::uuid[]) FOR UPDATE) locked;
