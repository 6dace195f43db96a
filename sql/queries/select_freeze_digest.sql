-- Online runs: the table's digest the final delta pass recorded after it applied the last changes.
SELECT target_rows, target_digest FROM migration.freeze_digest WHERE run_id = $1 AND source_table = $2;
