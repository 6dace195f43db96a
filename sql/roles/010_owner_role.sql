-- The tables' owner ({{owner_role}}): the role of the worker config's `ddlDsn` (docs/security.md "The
-- PostgreSQL roles"). On a live database this is the app's own table owner and exists already; on a
-- fresh target this creates it. It creates the app's tables (IF NOT EXISTS), the migrator's schemas and
-- tables, builds and drops indexes CONCURRENTLY and runs ANALYZE: what PostgreSQL allows only an
-- object's owner. Neither superuser nor CREATEDB nor CREATEROLE. Run by an administrator; idempotent.
-- Give it a password (or another authentication) separately: no secret lives in this file.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{owner_role}}') THEN
    CREATE ROLE {{owner_role}} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  -- CREATE on the database: the schemas migration and migration_archive (CREATE SCHEMA IF NOT EXISTS).
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO {{owner_role}}', current_database());
END
$$;
-- The app's tables and the bridge tables live in public (PostgreSQL 15+ grants CREATE there to nobody).
GRANT USAGE, CREATE ON SCHEMA public TO {{owner_role}};
