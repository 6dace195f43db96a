import { Option, type Command } from 'commander';
import { DEFAULT_CODEC_MAX_BODY_BYTES, DEFAULT_TEMPORAL_NAMESPACE } from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { codecToken, isLoopback, startCodecServer } from '../../workers/codec-server';
import { codecFromEnv } from '../../workers/payload-codec';
import { positiveInt } from '../args';

interface CodecServerOpts {
  port: number;
  host: string;
  origin: string;
  namespace: string[];
  allowHost?: string[];
  tokenFile?: string;
  maxBodyBytes: number;
  token?: string;
}

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description(
      'serve /encode and /decode for the Web UI (key from MIGRATOR_CODEC_KEY=env:NAME|file:PATH; token from --token-file or MIGRATOR_CODEC_TOKEN)',
    )
    .option('--port <n>', 'port', positiveInt('--port'), 8888)
    .option('--host <ip>', 'bind address (loopback by default; any other needs a token)', '127.0.0.1')
    .option('--origin <url>', 'the Web UI origin allowed by CORS', 'http://localhost:8233')
    .option('--namespace <ns...>', 'namespaces served: requests whose X-Namespace is not one of them are refused', [
      DEFAULT_TEMPORAL_NAMESPACE,
    ])
    .option(
      '--allow-host <name...>',
      'Host header names clients use besides loopback and the bound address (DNS-rebinding guard)',
    )
    .option(
      '--token-file <path>',
      'file holding the bearer token required as Authorization: Bearer <token> (else MIGRATOR_CODEC_TOKEN)',
    )
    .option(
      '--max-body-bytes <n>',
      'largest request body accepted (413 above it)',
      positiveInt('--max-body-bytes'),
      DEFAULT_CODEC_MAX_BODY_BYTES,
    )
    // Refused, not removed: a script still passing it must fail loudly rather than run without a token.
    .addOption(new Option('--token <t>').hideHelp())
    .action(async (o: CodecServerOpts) => {
      let token: string | undefined;
      try {
        if (o.token !== undefined) {
          throw new InvalidInputError(
            '--token',
            'a token on the command line is visible to every local user in `ps`: put it in a file given with --token-file PATH, or in MIGRATOR_CODEC_TOKEN',
          );
        }
        token = codecToken({ tokenFile: o.tokenFile });
        if (!token && !isLoopback(o.host)) {
          throw new InvalidInputError(
            '--token-file',
            `--host ${o.host} is off loopback: a token is required; give it with --token-file PATH or MIGRATOR_CODEC_TOKEN`,
          );
        }
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        console.error(`migrator codec-server: ${err.message}`);
        process.exitCode = 2;
        return;
      }
      const codec = codecFromEnv();
      if (!codec) throw new Error('MIGRATOR_CODEC_KEY is not set: the codec server needs the key the workers use');
      await startCodecServer({
        codec,
        port: o.port,
        host: o.host,
        origin: o.origin,
        token,
        namespaces: o.namespace,
        allowedHosts: o.allowHost,
        maxBodyBytes: o.maxBodyBytes,
      });
      console.error(
        `codec server on http://${o.host}:${o.port} for ${o.origin} (key ${codec.keyId}; namespaces ${o.namespace.join(', ')}; ${token ? 'bearer token required' : 'no token: loopback only'}); point the UI's codec endpoint here`,
      );
      await new Promise(() => undefined);
    });
}
