-- A self-reference (note_tasks.parent_id): rows pointing at keys $1 that are not themselves in $1.
SELECT count(*)::int AS n FROM {{referencing}} WHERE {{column}} = ANY($1::uuid[]) AND NOT ({{key}} = ANY($1::uuid[]));
