-- Online mode: the capture's own objects still present in the source (triggers and log table).
SELECT type, name FROM sqlite_master WHERE name = '_migrator_changes' OR (type = 'trigger' AND name LIKE '\_migrator\_%' ESCAPE '\') ORDER BY name;
