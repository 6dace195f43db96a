-- Online mode: removes the change capture of one mapped table (idempotent).
DROP TRIGGER IF EXISTS _migrator_{{table}}_ins;
DROP TRIGGER IF EXISTS _migrator_{{table}}_upd;
DROP TRIGGER IF EXISTS _migrator_{{table}}_del;
