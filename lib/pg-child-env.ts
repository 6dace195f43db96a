// The environment of a libpq child (pg_dump, pg_restore, psql) built from a target DSN: every
// connection setting becomes the libpq PG* variable of the same meaning, unchanged, so what the
// worker's pool verifies (sslmode=verify-full, its root certificate, a client certificate) is what
// the child verifies too. The DSN — and its password — never appears on a command line: the
// password travels in PGPASSWORD (or the operator's passfile via PGPASSFILE). Pure: reads no files.
import { InvalidInputError } from './errors';

/** libpq URI query parameters and the environment variable each one maps to (libpq docs §34.15). */
const PARAM_ENV: Record<string, string> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  channel_binding: 'PGCHANNELBINDING',
  options: 'PGOPTIONS',
  application_name: 'PGAPPNAME',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslsni: 'PGSSLSNI',
  sslcompression: 'PGSSLCOMPRESSION',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  requirepeer: 'PGREQUIREPEER',
  gssencmode: 'PGGSSENCMODE',
  krbsrvname: 'PGKRBSRVNAME',
  gsslib: 'PGGSSLIB',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  load_balance_hosts: 'PGLOADBALANCEHOSTS',
};

/** node-postgres parameters with no libpq twin that the pool reads but a libpq child must not be given. */
const NODE_PG_ONLY = new Set([
  'ssl',
  'uselibpqcompat',
  'statement_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'keepalives',
  'keepalives_idle',
]);

/** What a libpq child may inherit from the worker's environment: libpq's own variables (PG*), what
 * it reads files and locale by (HOME for ~/.pgpass and ~/.postgresql/, LANG/LC_*, TZ), Kerberos'.
 * Nothing else: the worker's environment holds other targets' DSNs and the payload codec key. */
const INHERITED = /^(PG[A-Z_]+|PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|KRB5[A-Z_]*)$/;

const SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

export interface PgChildEnvOptions {
  /** Connect to this database instead of the DSN's (the scratch restore). */
  database?: string;
  /** application_name of the child's session (so it can be found in pg_stat_activity). */
  applicationName?: string;
  /** The environment to extend (the worker's own), filtered to what libpq uses (INHERITED). Its PG*
   * variables fill what the DSN leaves out, as they do for the worker's pool (node-postgres reads
   * PGHOST, PGSSLMODE, ... too); the DSN wins. */
  base?: Record<string, string | undefined>;
}

function decode(part: string, field: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InvalidInputError(field, 'the DSN has an invalid percent-encoding');
  }
}

/** The libpq settings of a postgres:// or postgresql:// URI, keyed by libpq parameter name. */
export function parsePgUri(dsn: string, field = 'target'): Record<string, string> {
  const m = /^postgres(?:ql)?:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(dsn.trim());
  // Never echo the DSN: it may hold a password.
  if (!m) throw new InvalidInputError(field, 'the DSN is not a postgres:// or postgresql:// URI');
  const [, authority = '', path = '', query = ''] = m;
  const out: Record<string, string> = {};
  const at = authority.lastIndexOf('@');
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    const user = colon >= 0 ? userInfo.slice(0, colon) : userInfo;
    if (user) out.user = decode(user, field);
    if (colon >= 0) out.password = decode(userInfo.slice(colon + 1), field);
  }
  if (hostList) {
    const hosts: string[] = [];
    const ports: string[] = [];
    for (const entry of hostList.split(',')) {
      const hm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(entry);
      if (!hm) throw new InvalidInputError(field, 'the DSN has a malformed host list');
      hosts.push(decode(hm[1]!.replace(/^\[(.*)\]$/, '$1'), field));
      ports.push(hm[2] ?? '');
    }
    if (hosts.some(Boolean)) out.host = hosts.join(',');
    if (ports.some(Boolean)) out.port = ports.join(',');
  }
  if (path) out.dbname = decode(path, field);
  for (const pair of query.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair, field);
    out[key] = decode((eq >= 0 ? pair.slice(eq + 1) : '').replace(/\+/g, ' '), field);
  }
  return out;
}

/** DSN -> the child's environment. Throws InvalidInputError naming `field` for what libpq would refuse. */
export function pgChildEnv(dsn: string, options: PgChildEnvOptions = {}, field = 'target'): Record<string, string> {
  const settings = parsePgUri(dsn, field);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.base ?? {}))
    if (value !== undefined && INHERITED.test(key)) env[key] = value;
  for (const [key, value] of Object.entries(settings)) {
    const name = PARAM_ENV[key];
    if (name) env[name] = value;
    else if (!NODE_PG_ONLY.has(key))
      throw new InvalidInputError(field, `the DSN parameter "${key}" is not a libpq connection parameter`);
  }
  // node-postgres spellings: sslmode=no-verify is "encrypt, verify nothing" (libpq's require);
  // ssl=true verifies the chain and host name against the system's CAs (libpq 16+: verify-full with
  // sslrootcert=system; an older libpq refuses to connect rather than silently verifying less).
  if (env.PGSSLMODE === 'no-verify') env.PGSSLMODE = 'require';
  if (!settings.sslmode && settings.ssl !== undefined) {
    if (/^(true|1)$/i.test(settings.ssl)) {
      env.PGSSLMODE = 'verify-full';
      env.PGSSLROOTCERT ??= 'system';
    } else if (/^(false|0)$/i.test(settings.ssl)) env.PGSSLMODE = 'disable';
    else throw new InvalidInputError(field, 'the DSN parameter "ssl" must be true or false');
  }
  if (env.PGSSLMODE !== undefined && !SSL_MODES.has(env.PGSSLMODE)) {
    throw new InvalidInputError(
      field,
      `the DSN's sslmode "${env.PGSSLMODE}" is not one of ${[...SSL_MODES].join(', ')}`,
    );
  }
  if (options.database !== undefined) env.PGDATABASE = options.database;
  if (options.applicationName !== undefined) env.PGAPPNAME = options.applicationName;
  return env;
}
