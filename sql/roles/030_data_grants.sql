-- Row privileges of the data role ({{data_role}}) on what exists of the migrator's tables: the mapped
-- app tables (in the target's app schema, {{schema}}), their bridge tables and archives, and every table and sequence of schema migration.
-- Idempotent, and harmless before the tables exist: the schema step (activities/schema.ts) runs it
-- again, as the tables' owner, right after it created what was missing. UPDATE: the deferred parent
-- link, bridge statuses, the lease; SELECT … FOR UPDATE/SHARE (rollback, fencing) needs it too.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    '{{schema}}.folders', '{{schema}}.notes', '{{schema}}.note_folders', '{{schema}}.note_tasks',
    '{{schema}}.schema_bridge_folders', '{{schema}}.schema_bridge_notes', '{{schema}}.schema_bridge_note_folders',
    '{{schema}}.schema_bridge_tasks',
    'migration_archive.schema_bridge_folders', 'migration_archive.schema_bridge_notes',
    'migration_archive.schema_bridge_note_folders', 'migration_archive.schema_bridge_tasks'
  ] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO {{data_role}}', t);
    END IF;
  END LOOP;
  IF to_regnamespace('migration') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA migration TO {{data_role}};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA migration TO {{data_role}};
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA migration TO {{data_role}};
  END IF;
  IF to_regnamespace('migration_archive') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA migration_archive TO {{data_role}};
  END IF;
END
$$;
