// A small TCP fault proxy on loopback, placed between the worker and a server (PostgreSQL, Temporal).
// Its mode is switched at runtime and applies to every connection, open or new:
//   pass       bytes flow both ways
//   latency    each chunk is delayed by `latencyMs` before it is forwarded
//   blackhole  nothing is forwarded and nothing is closed (a dead network path: the peers only see
//              silence until their own timeouts or keepalives fire); new connections hang too
//   reset      every open connection is destroyed with a TCP RST, new ones are reset at once
//   cut        after `cutAfterBytes` more bytes (either direction, counted per connection) the
//              connection is reset mid-stream
// Loopback only: the listener binds 127.0.0.1 and the upstream must be a loopback address.
import { createServer, Socket, type Server } from 'node:net';

export type ProxyMode =
  | { mode: 'pass' }
  | { mode: 'latency'; latencyMs: number }
  | { mode: 'blackhole' }
  | { mode: 'reset' }
  | { mode: 'cut'; cutAfterBytes: number };

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Bytes this connection may still pass in `cut` mode. */
  budget: number;
  /** Chunks held while blackholed, in order, flushed when the path comes back. */
  held: { to: Socket; data: Buffer }[];
}

export class FaultProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = { mode: 'pass' };
  /** Connections accepted, bytes forwarded, connections reset by the proxy (figures for the report). */
  readonly stats = { connections: 0, bytes: 0, resets: 0 };
  port = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(upstreamHost))
      throw new Error(`fault proxy upstream must be a loopback address, got ${upstreamHost}`);
  }

  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  set(mode: ProxyMode): void {
    this.current = mode;
    if (mode.mode === 'reset') for (const p of [...this.pairs]) this.reset(p);
    if (mode.mode === 'cut') for (const p of this.pairs) p.budget = mode.cutAfterBytes;
    if (mode.mode === 'pass' || mode.mode === 'latency') {
      for (const p of this.pairs) {
        const held = p.held.splice(0);
        for (const h of held) this.forward(p, h.to, h.data);
      }
    }
  }

  /** Connections open right now. */
  get open(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    for (const p of [...this.pairs]) this.reset(p);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    if (this.current.mode === 'reset') {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = {
      client,
      upstream,
      budget: this.current.mode === 'cut' ? this.current.cutAfterBytes : Infinity,
      held: [],
    };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.connect(this.upstreamPort, this.upstreamHost);
    const close = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => this.route(pair, upstream, d));
    upstream.on('data', (d: Buffer) => this.route(pair, client, d));
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  private route(pair: Pair, to: Socket, data: Buffer): void {
    const m = this.current;
    if (m.mode === 'blackhole') {
      pair.held.push({ to, data });
      return;
    }
    if (m.mode === 'cut') {
      if (data.length >= pair.budget) {
        const part = data.subarray(0, pair.budget);
        if (part.length) to.write(part);
        this.reset(pair);
        return;
      }
      pair.budget -= data.length;
    }
    if (m.mode === 'latency') {
      setTimeout(() => this.forward(pair, to, data), m.latencyMs);
      return;
    }
    this.forward(pair, to, data);
  }

  private forward(pair: Pair, to: Socket, data: Buffer): void {
    if (!this.pairs.has(pair) || to.destroyed) return;
    this.stats.bytes += data.length;
    to.write(data);
  }

  private reset(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    this.stats.resets++;
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  }
}
