-- Which of these source ids this user's runs quarantined for one table.
SELECT source_id FROM migration.migration_quarantine WHERE user_id = $1::uuid AND source_table = $2 AND source_id = ANY ($3::text[]);
