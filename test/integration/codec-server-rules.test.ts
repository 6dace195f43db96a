// The codec server's trust rules, one test each, against the real server process started by the
// CLI (`migrator codec-server`): token off loopback, no token in argv, constant-time token check
// from the environment or a file, Host header (DNS rebinding), body limit, X-Namespace, and the
// Web UI's CORS preflight.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../../infra/ports';
import { EncryptionCodec } from '../../workers/payload-codec';
import { tempDir } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const UI = 'http://localhost:8233';
const key = randomBytes(32);
const dir = tempDir('codec-rules-');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
});

interface Started {
  port: number;
  child: ChildProcess;
  stderr: () => string;
  /** The exit code once the process ended and its stderr was read; undefined while it runs. */
  exitCode: () => number | null | undefined;
}

/** Spawns `migrator codec-server --port <free> ...args`; resolves once it listens or has exited. */
async function codecServer(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'codec-server', '--port', String(port), ...args], {
    env: {
      ...process.env,
      MIGRATOR_CODEC_TOKEN: '',
      MIGRATOR_CODEC_KEY: 'env:TEST_CODEC_KEY',
      TEST_CODEC_KEY: key.toString('base64'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exitCode: number | null | undefined;
  child.on('close', (code) => (exitCode = code)); // 'close': after stderr has been read to its end
  await waitUntil(
    'the codec server to listen or exit',
    () => stderr.includes('codec server on') || exitCode !== undefined,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return { port, child, stderr: () => stderr, exitCode: () => exitCode };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request with exactly these headers (Host included when given), through node:http. */
function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | string[] } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path ?? '/decode',
        headers: options.headers ?? {},
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    for (const part of [options.body ?? []].flat()) req.write(part);
    req.end();
  });
}

/** A /decode body holding one payload encrypted with the server's key, and the plaintext it holds. */
async function decodeBody(plain = '{"x":1}'): Promise<string> {
  const [encoded] = await new EncryptionCodec(key).encode([
    { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(plain) },
  ]);
  return JSON.stringify({
    payloads: [
      {
        metadata: Object.fromEntries(
          Object.entries(encoded!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
        ),
        data: Buffer.from(encoded!.data!).toString('base64'),
      },
    ],
  });
}

const decoded = (r: Reply) =>
  Buffer.from((JSON.parse(r.text) as { payloads: { data: string }[] }).payloads[0]!.data, 'base64').toString();
const json = { 'content-type': 'application/json', 'x-namespace': 'default' };

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

it('refuses to start off loopback without a token, naming --token-file and MIGRATOR_CODEC_TOKEN', async () => {
  const server = await codecServer(['--host', '0.0.0.0']);
  expect(server.exitCode()).toBe(2);
  expect(server.stderr()).toContain('--host 0.0.0.0 is off loopback: a token is required');
  expect(server.stderr()).toMatch(/--token-file PATH or MIGRATOR_CODEC_TOKEN/);
  expect(await listening(server.port)).toBe(false);
});

it('refuses a token given in argv (--token), pointing at --token-file or the environment', async () => {
  const server = await codecServer(['--token', 'visible-in-ps'], { MIGRATOR_CODEC_TOKEN: 'from-env' });
  expect(server.exitCode()).toBe(2);
  expect(server.stderr()).toContain('invalid input --token');
  expect(server.stderr()).toContain('`ps`');
  expect(server.stderr()).toContain('--token-file PATH, or in MIGRATOR_CODEC_TOKEN');
  expect(await listening(server.port)).toBe(false);
});

it('requires the token from MIGRATOR_CODEC_TOKEN on every request and accepts only that exact token', async () => {
  const token = randomUUID();
  const server = await codecServer([], { MIGRATOR_CODEC_TOKEN: token });
  const body = await decodeBody();
  expect((await send(server.port, { headers: json, body })).status).toBe(401);
  const wrongSameLength = token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  expect(
    (await send(server.port, { headers: { ...json, authorization: `Bearer ${wrongSameLength}` }, body })).status,
  ).toBe(401);
  expect((await send(server.port, { headers: { ...json, authorization: `Bearer ${token}x` }, body })).status).toBe(401);
  expect((await send(server.port, { headers: { ...json, authorization: token }, body })).status).toBe(401); // no "Bearer "
  const ok = await send(server.port, { headers: { ...json, authorization: `Bearer ${token}` }, body });
  expect(ok.status).toBe(200);
  expect(decoded(ok)).toBe('{"x":1}');
  expect(server.stderr()).not.toContain(token);
});

it('reads the token from --token-file (over MIGRATOR_CODEC_TOKEN) and then serves off loopback', async () => {
  const token = randomUUID();
  const file = join(dir, `token-${randomUUID()}`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  const server = await codecServer(['--host', '0.0.0.0', '--token-file', file], {
    MIGRATOR_CODEC_TOKEN: 'the-env-token',
  });
  expect(server.exitCode()).toBe(undefined);
  const body = await decodeBody('{"file":true}');
  expect((await send(server.port, { headers: { ...json, authorization: 'Bearer the-env-token' }, body })).status).toBe(
    401,
  );
  const ok = await send(server.port, { headers: { ...json, authorization: `Bearer ${token}` }, body });
  expect(ok.status).toBe(200);
  expect(decoded(ok)).toBe('{"file":true}');
  const missing = await codecServer(['--token-file', join(dir, 'no-such-token')]);
  expect(missing.exitCode()).toBe(2);
  expect(missing.stderr()).toContain('invalid input --token-file: cannot read');
});

it('refuses requests whose Host is not a loopback name, the bound address or an --allow-host name (DNS rebinding)', async () => {
  const server = await codecServer(['--allow-host', 'codec.internal']);
  const body = await decodeBody();
  const rebound = await send(server.port, { headers: { ...json, host: `attacker.example:${server.port}` }, body });
  expect(rebound.status).toBe(403);
  expect(rebound.text).toContain('Host "attacker.example');
  expect(
    (await send(server.port, { method: 'OPTIONS', headers: { host: `attacker.example:${server.port}`, origin: UI } }))
      .status,
  ).toBe(403);
  for (const host of [
    `localhost:${server.port}`,
    `127.0.0.1:${server.port}`,
    `[::1]:${server.port}`,
    `codec.internal:${server.port}`,
  ]) {
    const r = await send(server.port, { headers: { ...json, host }, body });
    expect(r.status, host).toBe(200);
  }
});

it('answers 413 to a body over --max-body-bytes, declared or streamed', async () => {
  const server = await codecServer(['--max-body-bytes', '2048']);
  const small = await send(server.port, { headers: json, body: await decodeBody() });
  expect(small.status).toBe(200);
  const big = JSON.stringify({ payloads: [{ data: 'A'.repeat(4000) }] });
  const declared = await send(server.port, {
    headers: { ...json, 'content-length': String(Buffer.byteLength(big)) },
    body: big,
  });
  expect(declared.status).toBe(413);
  // No Content-Length: chunked transfer, counted as it arrives.
  const streamed = await send(server.port, { headers: json, body: [big.slice(0, 1500), big.slice(1500)] });
  expect(streamed.status).toBe(413);
});

it('serves only the namespaces it is given: X-Namespace missing or other is refused', async () => {
  const server = await codecServer(['--namespace', 'prod', 'staging']);
  const body = await decodeBody();
  const other = await send(server.port, { headers: { ...json, 'x-namespace': 'default' }, body });
  expect(other.status).toBe(403);
  expect(other.text).toContain('X-Namespace "default" is not served here');
  expect((await send(server.port, { headers: { 'content-type': 'application/json' }, body })).status).toBe(403);
  expect((await send(server.port, { headers: { ...json, 'x-namespace': 'prod' }, body })).status).toBe(200);
  expect((await send(server.port, { headers: { ...json, 'x-namespace': 'staging' }, body })).status).toBe(200);
});

it('answers the Web UI CORS preflight without a token, allowing its origin, headers and POST', async () => {
  const token = randomUUID();
  const server = await codecServer(['--origin', UI], { MIGRATOR_CODEC_TOKEN: token });
  const preflight = await send(server.port, {
    method: 'OPTIONS',
    headers: {
      origin: UI,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-namespace',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers['access-control-allow-origin']).toBe(UI);
  expect(preflight.headers['access-control-allow-credentials']).toBe('true');
  expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
  const allowed = String(preflight.headers['access-control-allow-headers']).toLowerCase();
  for (const h of ['authorization', 'content-type', 'x-namespace']) expect(allowed).toContain(h);
  const post = await send(server.port, {
    headers: { ...json, origin: UI, authorization: `Bearer ${token}` },
    body: await decodeBody(),
  });
  expect(post.status).toBe(200);
  expect(post.headers['access-control-allow-origin']).toBe(UI);
});
