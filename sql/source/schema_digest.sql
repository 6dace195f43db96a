-- The source's schema as the app sees it: every sqlite_master row, in a stable order.
SELECT type, name, tbl_name, coalesce(sql, '') AS sql FROM sqlite_master ORDER BY type, name;
