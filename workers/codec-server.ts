// The codec server: lets the Web UI (and `temporal … --codec-endpoint`) show decoded payloads to
// operators who hold the key. Loopback by default; CORS for the UI's origin; an optional bearer token.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Payload } from '@temporalio/common';
import type { EncryptionCodec } from './payload-codec';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += (chunk as Buffer).toString();
  return text;
}

export function startCodecServer(options: { codec: EncryptionCodec; port: number; host?: string; origin: string; token?: string }): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', options.origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return void res.writeHead(401).end('unauthorized');
    const op = req.url?.replace(/\?.*$/, '').replace(/\/+$/, '').split('/').pop();
    if (req.method !== 'POST' || (op !== 'encode' && op !== 'decode')) return void res.writeHead(404).end('POST /encode or /decode');
    body(req)
      .then(async (text) => {
        const { payloads } = JSON.parse(text) as { payloads: JsonPayload[] };
        const out = await options.codec[op](payloads.map(fromJson));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
      })
      .catch((err: Error) => res.writeHead(400).end(err.message));
  });
  return new Promise((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', () => resolve(server)));
}
