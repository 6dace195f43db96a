import type { Command } from 'commander';
import { startCodecServer } from '../../workers/codec-server';
import { codecFromEnv } from '../../workers/payload-codec';
import { positiveInt } from '../args';

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('serve /encode and /decode for the Web UI (key from MIGRATOR_CODEC_KEY=env:NAME|file:PATH)')
    .option('--port <n>', 'port', positiveInt('--port'), 8888)
    .option('--host <ip>', 'bind address (loopback by default)', '127.0.0.1')
    .option('--origin <url>', 'the Web UI origin allowed by CORS', 'http://localhost:8233')
    .option('--token <t>', 'require Authorization: Bearer <t>')
    .action(async (o: { port: number; host: string; origin: string; token?: string }) => {
      const codec = codecFromEnv();
      if (!codec) throw new Error('MIGRATOR_CODEC_KEY is not set: the codec server needs the key the workers use');
      await startCodecServer({ codec, port: o.port, host: o.host, origin: o.origin, token: o.token });
      console.error(`codec server on http://${o.host}:${o.port} for ${o.origin} (key ${codec.keyId}); point the UI's codec endpoint here`);
      await new Promise(() => undefined);
    });
}
