-- The migration's data role ({{data_role}}): the role of the worker config's `dsn` (docs/security.md
-- "The PostgreSQL roles"). It reads and writes rows: the mapped tables, the bridge tables and the
-- migrator's control tables, nothing else; it creates, alters and drops nothing. Run by an
-- administrator; idempotent. Give it a password (or another authentication) separately.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{data_role}}') THEN
    CREATE ROLE {{data_role}} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO {{data_role}}', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO {{data_role}};
