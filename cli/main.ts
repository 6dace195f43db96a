// `migrator`: the operator CLI. One binary, subcommands; `migrator <command> --help` for each.
import { Command } from 'commander';
import { registerBench } from './commands/bench';
import { registerCodecServer } from './commands/codec-server';
import { registerControl } from './commands/control';
import { registerDev } from './commands/dev';
import { registerGenerate } from './commands/generate';
import { registerLoad } from './commands/load';
import { registerMigrate } from './commands/migrate';
import { registerReplay } from './commands/replay';
import { registerRollout } from './commands/rollout';
import { registerRunbook } from './commands/runbook';
import { registerWorker } from './commands/worker';

const program = new Command('migrator')
  .description('Production-safe SQLite → PostgreSQL migrations on Temporal (Duru Notes schema v12 → PostgreSQL)')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();
registerDev(program);
registerWorker(program);
registerMigrate(program);
registerControl(program);
registerGenerate(program);
registerLoad(program);
registerBench(program);
registerRunbook(program);
registerReplay(program);
registerCodecServer(program);
registerRollout(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Not only commander's errors land here: pg and Node errors carry codes too, some numeric (gRPC status).
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : undefined;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
    process.exitCode = 0;
  else if (code?.startsWith('commander.'))
    process.exitCode = 2; // usage error: commander already printed it
  else {
    console.error(`migrator: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
// The Temporal native runtime can keep the event loop alive after a command finished.
setImmediate(() => process.exit(process.exitCode ?? 0));
