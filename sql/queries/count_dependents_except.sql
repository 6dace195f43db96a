-- Rows of a mapped table that point at any of the keys $1 and are not rows this run created
-- ($2: the run's own keys of the referencing table, e.g. its tasks under its notes).
SELECT count(*)::int AS n FROM {{referencing}} WHERE {{column}} = ANY($1::uuid[]) AND NOT ({{key}} = ANY($2::uuid[]));
