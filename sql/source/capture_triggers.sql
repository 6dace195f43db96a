-- Online mode: change capture on one mapped source table ({{table}}, key column {{key}}; both from
-- the mapping, never input). Old and new key, so a key change is seen as the old key gone and the
-- new one present; hard deletes are logged, not only updated_at moves.
CREATE TRIGGER IF NOT EXISTS _migrator_{{table}}_ins AFTER INSERT ON {{table}}
BEGIN
  INSERT INTO _migrator_changes (tbl, op, old_key, new_key) VALUES ('{{table}}', 'I', NULL, CAST(NEW.{{key}} AS TEXT));
END;
CREATE TRIGGER IF NOT EXISTS _migrator_{{table}}_upd AFTER UPDATE ON {{table}}
BEGIN
  INSERT INTO _migrator_changes (tbl, op, old_key, new_key) VALUES ('{{table}}', 'U', CAST(OLD.{{key}} AS TEXT), CAST(NEW.{{key}} AS TEXT));
END;
CREATE TRIGGER IF NOT EXISTS _migrator_{{table}}_del AFTER DELETE ON {{table}}
BEGIN
  INSERT INTO _migrator_changes (tbl, op, old_key, new_key) VALUES ('{{table}}', 'D', CAST(OLD.{{key}} AS TEXT), NULL);
END;
