// The libpq child environment built from a DSN: TLS settings reach pg_dump/pg_restore unchanged,
// the password only through the environment, and bad DSNs fail naming the field without echoing it.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors';
import { libpqEnv } from '../../activities/backup';
import { parsePgUri, pgChildEnv } from '../../lib/pg-child-env';

describe('pgChildEnv', () => {
  it('passes sslmode=verify-full and its certificates through unchanged', () => {
    const env = pgChildEnv(
      'postgresql://app:s3cr%40t@db.example.com:6432/notes?sslmode=verify-full&sslrootcert=/etc/ssl/root.crt&sslcert=/etc/ssl/client.crt&sslkey=/etc/ssl/client.key',
    );
    expect(env).toEqual({
      PGHOST: 'db.example.com',
      PGPORT: '6432',
      PGUSER: 'app',
      PGPASSWORD: 's3cr@t',
      PGDATABASE: 'notes',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/ssl/root.crt',
      PGSSLCERT: '/etc/ssl/client.crt',
      PGSSLKEY: '/etc/ssl/client.key',
    });
  });

  it.each(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'])('keeps sslmode=%s as is', (mode) => {
    expect(pgChildEnv(`postgres://h/db?sslmode=${mode}`).PGSSLMODE).toBe(mode);
  });

  it('maps node-postgres spellings without weakening them', () => {
    expect(pgChildEnv('postgres://h/db?sslmode=no-verify').PGSSLMODE).toBe('require');
    expect(pgChildEnv('postgres://h/db?ssl=true')).toMatchObject({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: 'system' });
    expect(pgChildEnv('postgres://h/db?ssl=true&sslrootcert=/r.crt')).toMatchObject({
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/r.crt',
    });
    expect(pgChildEnv('postgres://h/db?ssl=false').PGSSLMODE).toBe('disable');
    // An explicit sslmode wins over ssl=.
    expect(pgChildEnv('postgres://h/db?ssl=true&sslmode=verify-ca').PGSSLMODE).toBe('verify-ca');
  });

  it('overrides the database and application name, and extends the base environment', () => {
    const env = pgChildEnv('postgres://u@h/db', {
      database: 'scratch_1',
      applicationName: 'migrator-x',
      base: { PATH: '/bin', PGCONNECT_TIMEOUT: '5', GONE: undefined },
    });
    expect(env).toEqual({
      PATH: '/bin',
      PGCONNECT_TIMEOUT: '5',
      PGHOST: 'h',
      PGUSER: 'u',
      PGDATABASE: 'scratch_1',
      PGAPPNAME: 'migrator-x',
    });
  });

  it('inherits only what libpq uses: no other secrets of the worker reach the child', () => {
    const env = pgChildEnv('postgres://h/db', {
      base: {
        PATH: '/bin',
        HOME: '/home/m',
        LC_ALL: 'C',
        MIGRATOR_CODEC_KEY: 'k',
        TARGET_PROD: 'postgres://u:pw@x/y',
        NODE_OPTIONS: '--x',
      },
    });
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/m', LC_ALL: 'C', PGHOST: 'h', PGDATABASE: 'db' });
  });

  it('lets the DSN win over inherited PG* variables', () => {
    const env = pgChildEnv('postgres://h/db?sslmode=verify-full', {
      base: { PGSSLMODE: 'disable', PGHOST: 'elsewhere', PGUSER: 'inherited' },
    });
    expect(env).toMatchObject({ PGSSLMODE: 'verify-full', PGHOST: 'h', PGUSER: 'inherited' });
  });

  it('handles host lists, IPv6 literals and socket directories', () => {
    expect(pgChildEnv('postgres://a:5432,b:5433/db')).toMatchObject({ PGHOST: 'a,b', PGPORT: '5432,5433' });
    expect(pgChildEnv('postgres://[::1]:5432/db')).toMatchObject({ PGHOST: '::1', PGPORT: '5432' });
    expect(pgChildEnv('postgres:///db?host=/var/run/postgresql')).toMatchObject({
      PGHOST: '/var/run/postgresql',
      PGDATABASE: 'db',
    });
    expect(pgChildEnv('postgres://%2Ftmp%2Fsock/db').PGHOST).toBe('/tmp/sock');
  });

  it('maps the other libpq parameters to their variables', () => {
    const env = pgChildEnv(
      'postgres://h/db?connect_timeout=10&target_session_attrs=read-write&options=-c%20search_path%3Dx&passfile=/p/.pgpass&channel_binding=require',
    );
    expect(env).toMatchObject({
      PGCONNECT_TIMEOUT: '10',
      PGTARGETSESSIONATTRS: 'read-write',
      PGOPTIONS: '-c search_path=x',
      PGPASSFILE: '/p/.pgpass',
      PGCHANNELBINDING: 'require',
    });
  });

  it('refuses what libpq would refuse, naming the field and never echoing the DSN', () => {
    const bad = [
      'mysql://u:hunter2@h/db',
      'postgres://u:hunter2@h/db?sslmode=verify-everything',
      'postgres://u:hunter2@h/db?frobnicate=1',
      'postgres://u:hunter2@h/db?ssl=maybe',
    ];
    for (const dsn of bad) {
      let caught: unknown;
      try {
        pgChildEnv(dsn, {}, 'target');
      } catch (err) {
        caught = err;
      }
      expect(caught, dsn).toBeInstanceOf(InvalidInputError);
      expect((caught as InvalidInputError).field).toBe('target');
      expect((caught as Error).message).not.toContain('hunter2');
    }
  });

  it('keeps the password out of any argument: libpqEnv puts it in PGPASSWORD only', () => {
    const env = libpqEnv('postgres://u:pw%20x@h/db', 'other');
    expect(env.PGPASSWORD).toBe('pw x');
    expect(env.PGDATABASE).toBe('other');
    expect(env.PATH).toBe(process.env.PATH);
  });

  it('parses the URI into libpq parameter names', () => {
    expect(parsePgUri('postgresql://u@h:1/d?application_name=a')).toEqual({
      user: 'u',
      host: 'h',
      port: '1',
      dbname: 'd',
      application_name: 'a',
    });
  });
});
