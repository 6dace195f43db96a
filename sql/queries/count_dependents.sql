-- Rows of a referencing table that point at any of the keys $1 (rows a rollback is about to delete).
SELECT count(*)::int AS n FROM {{referencing}} WHERE {{column}} = ANY($1::uuid[]);
