// The codec server: lets the Web UI (and `temporal … --codec-endpoint`) show decoded payloads to
// operators who hold the key. It holds the key that decrypts every payload, so it trusts little:
// - a bearer token, required whenever it binds off loopback, compared in constant time, and read
//   from a file or the environment only (never argv: `ps` shows argv to every local user);
// - the Host header must be a name it is served under (loopback names, the bound address,
//   --allow-host), so a web page rebinding its own DNS name to this address is refused;
// - bodies are bounded (413), and X-Namespace must name a namespace it serves.
// CORS allows the Web UI's origin; the preflight needs no token (browsers send none with it).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { Payload } from '@temporalio/common';
import { DEFAULT_CODEC_MAX_BODY_BYTES, DEFAULT_TEMPORAL_NAMESPACE } from '../lib/defaults';
import { InvalidInputError } from '../lib/errors';
import type { EncryptionCodec } from './payload-codec';

export interface CodecServerOptions {
  codec: EncryptionCodec;
  port: number;
  /** Bind address; loopback by default. Off loopback, `token` is required. */
  host?: string;
  /** The Web UI origin allowed by CORS. */
  origin: string;
  /** Bearer token required on /encode and /decode (see codecToken for where it comes from). */
  token?: string;
  /** Namespaces served: X-Namespace must be one of them. Default: ['default']. */
  namespaces?: string[];
  /** Host header names accepted besides the loopback names and the bound address. */
  allowedHosts?: string[];
  maxBodyBytes?: number;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const unbracket = (h: string) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** True when `host` is a loopback address (or `localhost`); a wildcard or any other name is not. */
export function isLoopback(host: string): boolean {
  const h = unbracket(host);
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** The token from --token-file (explicit) or MIGRATOR_CODEC_TOKEN; undefined when neither is given. */
export function codecToken(options: { tokenFile?: string; env?: NodeJS.ProcessEnv }): string | undefined {
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.tokenFile, 'utf8');
    } catch (err) {
      throw new InvalidInputError(
        '--token-file',
        `cannot read ${options.tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    const token = text.trim();
    if (!token) throw new InvalidInputError('--token-file', `${options.tokenFile} is empty`);
    return token;
  }
  const fromEnv = (options.env ?? process.env).MIGRATOR_CODEC_TOKEN?.trim();
  return fromEnv || undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Reads the body up to `limit` bytes; null once it is longer (the rest is discarded as it arrives). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => over || resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startCodecServer(options: CodecServerOptions): Promise<Server> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.token) {
    throw new InvalidInputError(
      '--token-file',
      `the codec server would bind ${host}, off loopback, without a token: give one with --token-file PATH or MIGRATOR_CODEC_TOKEN (anyone who reaches it could decrypt every payload)`,
    );
  }
  const expected = options.token ? digest(options.token) : null;
  const namespaces = new Set(options.namespaces?.length ? options.namespaces : [DEFAULT_TEMPORAL_NAMESPACE]);
  const hosts = new Set([...LOOPBACK_NAMES, ...(options.allowedHosts ?? []).map(unbracket)]);
  if (unbracket(host) !== '0.0.0.0' && unbracket(host) !== '::') hosts.add(unbracket(host));
  const limit = options.maxBodyBytes ?? DEFAULT_CODEC_MAX_BODY_BYTES;

  // Equal-length digests, so timingSafeEqual neither throws nor leaks the token's length.
  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
  };
  const hostAllowed = (req: IncomingMessage): boolean => {
    try {
      return req.headers.host !== undefined && hosts.has(unbracket(new URL(`http://${req.headers.host}`).hostname));
    } catch {
      return false;
    }
  };
  const refuse = (res: ServerResponse, status: number, message: string) =>
    void res.writeHead(status, { 'Content-Type': 'text/plain' }).end(message);

  const server = createServer((req, res) => {
    if (!hostAllowed(req))
      return refuse(
        res,
        403,
        `Host "${req.headers.host ?? ''}" is not a name this codec server is served under (add it with --allow-host)`,
      );
    res.setHeader('Access-Control-Allow-Origin', options.origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const op = req.url?.replace(/\?.*$/, '').replace(/\/+$/, '').split('/').pop();
    if (req.method !== 'POST' || (op !== 'encode' && op !== 'decode'))
      return refuse(res, 404, 'POST /encode or /decode');
    if (!authorized(req)) return refuse(res, 401, 'unauthorized');
    const namespace = req.headers['x-namespace'];
    if (typeof namespace !== 'string' || !namespaces.has(namespace))
      return refuse(res, 403, `X-Namespace "${String(namespace ?? '')}" is not served here`);
    const tooLarge = () => {
      res.setHeader('Connection', 'close');
      refuse(res, 413, `request body over ${limit} bytes`);
    };
    if (Number(req.headers['content-length'] ?? 0) > limit) return tooLarge();
    readBody(req, limit)
      .then(async (buf) => {
        if (buf === null) return tooLarge();
        const { payloads } = JSON.parse(buf.toString('utf8')) as { payloads: JsonPayload[] };
        const out = await options.codec[op](payloads.map(fromJson));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
      })
      .catch((err: Error) => refuse(res, 400, err.message));
  });
  return await new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
