-- A run leaves these indexes; returns the names it left.
DELETE FROM migration.index_users WHERE run_id = $1 AND index_name = ANY ($2::text[]) RETURNING index_name;
