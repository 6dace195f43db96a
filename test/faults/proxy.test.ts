// The fault proxy itself, against an echo server on loopback: each mode does what the fault cases
// rely on, switched at runtime on open connections.
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FaultProxy } from './proxy';

let echo: Server;
let echoPort: number;
let proxy: FaultProxy;

beforeAll(async () => {
  echo = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
  proxy = new FaultProxy('127.0.0.1', echoPort);
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
  await new Promise((r) => echo.close(r));
});

interface Conn {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
}

async function connect(): Promise<Conn> {
  const socket = new Socket();
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.connect(proxy.port, '127.0.0.1', () => r()));
  return { socket, received: () => data, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(10);
  return check();
}

it('passes bytes both ways', async () => {
  proxy.set({ mode: 'pass' });
  const c = await connect();
  c.socket.write('hello');
  expect(await until(() => c.received() === 'hello')).toBe(true);
  c.socket.destroy();
});

it('delays each chunk in latency mode', async () => {
  proxy.set({ mode: 'latency', latencyMs: 150 });
  const c = await connect();
  const t0 = Date.now();
  c.socket.write('slow');
  expect(await until(() => c.received() === 'slow')).toBe(true);
  // Both directions are delayed: at least one 150 ms hop (loose bound: the machine is shared).
  expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  proxy.set({ mode: 'pass' });
  c.socket.destroy();
});

it('holds everything in blackhole mode without closing, and delivers it when the path comes back', async () => {
  proxy.set({ mode: 'pass' });
  const c = await connect();
  proxy.set({ mode: 'blackhole' });
  c.socket.write('into the void');
  await sleep(300);
  expect(c.received()).toBe('');
  expect(c.socket.destroyed).toBe(false);
  proxy.set({ mode: 'pass' });
  expect(await until(() => c.received() === 'into the void')).toBe(true);
  c.socket.destroy();
});

it('cuts a connection after N bytes', async () => {
  proxy.set({ mode: 'pass' });
  const c = await connect();
  proxy.set({ mode: 'cut', cutAfterBytes: 10 });
  c.socket.write('0123456789abcdefghij');
  await c.closed;
  expect(c.received().length).toBeLessThan(20);
  proxy.set({ mode: 'pass' });
});

it('resets open connections and refuses new ones in reset mode', async () => {
  proxy.set({ mode: 'pass' });
  const open = await connect();
  const before = proxy.stats.resets;
  proxy.set({ mode: 'reset' });
  await open.closed;
  const late = new Socket();
  late.on('error', () => undefined);
  const lateClosed = new Promise<void>((r) => late.once('close', () => r()));
  late.connect(proxy.port, '127.0.0.1');
  await lateClosed;
  expect(proxy.stats.resets).toBeGreaterThanOrEqual(before + 2);
  proxy.set({ mode: 'pass' });
  const again = await connect();
  again.socket.write('back');
  expect(await until(() => again.received() === 'back')).toBe(true);
  again.socket.destroy();
});

it('refuses an upstream that is not on loopback', () => {
  expect(() => new FaultProxy('192.0.2.1', 5432)).toThrow(/loopback/);
});
