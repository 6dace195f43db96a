// Online mode against a live source: a load generator writes notes, tasks, folders and links
// (inserts, updates, soft and hard deletes, a key change) throughout a migration. Afterwards the
// target equals the source as it was at the freeze (every acknowledged write before it, with its
// final content, decrypted; every hard-deleted row absent), and the source holds no trigger or log
// table: its sqlite_master equals the pre-run one. An abort during the delta passes leaves the
// source the same way and the target exactly as before the run.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { readLoadLog, runLoad, type LoadSummary } from '../../infra/load-generator';
import { TABLE_ORDER } from '../../lib/mapping';
import { abortUpdate, progressQuery, type MigrationResult, type RollbackReport } from '../../workflows/definitions';
import type { MigrationInput } from '../../lib/input';
import { migrationWorkflow } from '../../workflows/migration';
import { migrationFixture } from '../helpers/fixture';
import { createTargetDatabase, tempDir, writeKeyring, type TestTarget, type TestWorker } from '../helpers/stack';
import {
  knownKeys,
  present,
  sealerOf,
  sourceSchema,
  sourceState,
  stateAtFreeze,
  targetStateOf,
} from '../helpers/online-state';
import { seedTarget, targetState } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';

const fx = migrationFixture('online', { seed: 41, notes: 2500 });

/** Every app table's content hashed (all columns, rows in key order). */
function sourceContent(path: string): Record<string, string> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'fts_notes_%' ORDER BY name",
      )
      .all() as { name: string }[];
    const out: Record<string, string> = {};
    for (const { name } of tables) {
      const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all();
      out[name] = `${rows.length}:${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
    }
    return out;
  } finally {
    db.close();
  }
}

function start(worker: TestWorker, input: MigrationInput) {
  return worker.client.workflow.start(migrationWorkflow, {
    taskQueue: worker.taskQueue,
    workflowId: `online-${randomUUID()}`,
    args: [{ chunkRows: 200, heartbeatTimeoutMs: 10_000, ...input, health: { probe: { enabled: false } } }],
  });
}

describe('online mode', () => {
  it('completes with the app writing ~150 writes/s throughout; the target equals the source at the freeze', async () => {
    const schemaBefore = sourceSchema(fx.source);
    const contentBefore = sourceContent(fx.source);
    const initial = sourceState(fx.source);
    const log = join(tempDir(), 'load.jsonl');
    const stop = new AbortController();
    const load: Promise<LoadSummary> = runLoad({
      source: fx.source,
      rate: 150,
      durationMs: 600_000,
      log,
      seed: 7,
      signal: stop.signal,
    });
    let result: MigrationResult;
    try {
      const handle = await start(fx.worker, {
        source: fx.source,
        userId: fx.userId,
        target: fx.target.ref,
        keyring: fx.keyring.ref,
        online: { enabled: true, deltaThreshold: 50, maxDeltaPasses: 10 },
      });
      result = await handle.result();
      await new Promise((r) => setTimeout(r, 1000)); // writes after the freeze too: they must not be in the target
    } finally {
      stop.abort();
    }
    const summary = await load;
    const writes = readLoadLog(log);
    const online = result.online!;
    expect(result.validation.ok).toBe(true);
    expect(online.passes).toBeGreaterThanOrEqual(2); // at least one delta pass and the final one
    expect(online.changesApplied).toBeGreaterThan(0);
    expect(online.freezeMs).toBeGreaterThan(0);
    expect(online.schemaDigestAfter).toBe(online.schemaDigestBefore);
    // The figures of this run, for the record (not asserted beyond the checks below).
    console.info(
      `[online] ${summary.acknowledged} writes in ${summary.elapsedMs} ms (longest lock wait ${summary.maxLockWaitMs} ms); ` +
        `${online.passes} passes, ${online.changesApplied} changes applied, freeze ${online.freezeMs!.toFixed(1)} ms (draining the log ${online.freezeDrainMs!.toFixed(1)} ms)`,
    );
    const before = writes.filter((w) => w.lockedAtMs < online.freezeEndedAtMs!);
    const after = writes.filter((w) => w.lockedAtMs >= online.freezeEndedAtMs!);
    // The load really ran through the run, with every kind of write, and on past the freeze.
    expect(summary.acknowledged).toBeGreaterThan(300);
    for (const op of ['insert', 'update', 'soft-delete', 'hard-delete', 'rekey'])
      expect(
        before.some((w) => w.op === op),
        op,
      ).toBe(true);
    expect(after.length).toBeGreaterThan(0);

    const expected = stateAtFreeze(initial, writes, online.freezeEndedAtMs!);
    const actual = await targetStateOf(
      fx.target,
      fx.userId,
      sealerOf(fx.keyring.keys, fx.userId),
      knownKeys(initial, writes),
    );
    for (const t of TABLE_ORDER) {
      expect(result.tables[t]!.quarantined, t).toBe(0);
      // Same keys with the same content: every acknowledged write present with its final content, every deleted row absent.
      expect(present(actual[t]!), t).toEqual(present(expected[t]!));
      expect(result.tables[t]!.sourceRows, t).toBe(present(expected[t]!).size);
      for (const w of before.filter((x) => x.table === t && x.contentHash === null))
        if (expected[t]!.get(w.key) === null) expect(actual[t]!.has(w.key), `${t} ${w.key} deleted`).toBe(false);
    }

    // The source: no trigger, no log table; its schema as before; tables the migrator does not map untouched.
    expect(sourceSchema(fx.source)).toEqual(schemaBefore);
    const contentAfter = sourceContent(fx.source);
    for (const t of Object.keys(contentBefore).filter((n) => !(TABLE_ORDER as readonly string[]).includes(n)))
      expect(contentAfter[t], t).toBe(contentBefore[t]);
  }, 300_000);

  describe('abort during the delta passes', () => {
    const userId = randomUUID();
    const keyring = writeKeyring([userId]);
    const source = join(tempDir(), 'online-abort.sqlite');
    let target: TestTarget;
    beforeAll(async () => {
      generateDataset({ path: source, seed: 42, notes: 800 });
      target = await createTargetDatabase('onab');
      await seedTarget(target, userId);
    });
    afterAll(async () => {
      await target?.close();
    });

    it('rolls the target back exactly and leaves the source without capture', async () => {
      const targetBefore = await targetState(target);
      const schemaBefore = sourceSchema(source);
      const log = join(tempDir(), 'load.jsonl');
      const stop = new AbortController();
      const load = runLoad({ source, rate: 100, durationMs: 600_000, log, seed: 8, signal: stop.signal });
      let failure: unknown;
      try {
        // Threshold 0, no catch-up estimate, no stall rule: passes go on (up to 1000) until the abort.
        const handle = await start(fx.worker, {
          source,
          userId,
          target: target.ref,
          keyring: keyring.ref,
          online: { enabled: true, deltaThreshold: 0, maxDeltaPasses: 1000, catchUpEstimate: false, stallPasses: 0 },
        });
        await waitUntil('delta passes running', async () => (await handle.query(progressQuery)).phase === 'delta', {
          timeoutMs: 180_000,
          intervalMs: 200,
        });
        await new Promise((r) => setTimeout(r, 1500)); // a few passes apply the load's writes
        await handle.executeUpdate(abortUpdate, { args: ['test aborts the delta passes'] });
        failure = await handle.result().then(
          () => null,
          (e: unknown) => e,
        );
      } finally {
        stop.abort();
      }
      await load;
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const report = ((failure as WorkflowFailedError).cause as { details?: unknown[] }).details?.[0] as RollbackReport;
      expect(report.cause).toBe('abort');
      expect(report.compensated).toContain('removeCapture');
      expect(report.compensated).toContain('removeRunRows');
      expect(readLoadLog(log).length).toBeGreaterThan(50);
      // The target exactly as before the run (rows the delta passes created included); the source without capture.
      expect(await targetState(target)).toEqual(targetBefore);
      expect(sourceSchema(source)).toEqual(schemaBefore);
      expect(sourceSchema(source).some((r) => r.includes('_migrator'))).toBe(false);
    }, 300_000);
  });

  it('`migrator load` writes nothing while the freeze flag file says frozen, then logs every acknowledged write', async () => {
    const dir = tempDir();
    const source = join(dir, 'flag.sqlite');
    generateDataset({ path: source, seed: 43, notes: 100 });
    const flag = join(dir, 'freeze.json');
    const frozenUntilMs = Date.now() + 8000; // well past the CLI's start-up
    writeFileSync(flag, JSON.stringify({ frozenUntilMs, runId: 'test-run' }));
    const log = join(dir, 'load.jsonl');
    const bin = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      'load',
      '--source',
      source,
      '--rate',
      '100',
      '--duration',
      '10s',
      '--user',
      fx.userId,
      '--log',
      log,
      '--freeze-flag',
      flag,
      '--json',
    ]);
    const summary = JSON.parse(stdout) as LoadSummary & { user: string };
    const writes = readLoadLog(log);
    expect(summary.user).toBe(fx.userId);
    expect(summary.flagWaitMs).toBeGreaterThan(500);
    expect(summary.acknowledged).toBeGreaterThan(20);
    expect(writes.length).toBeGreaterThanOrEqual(summary.acknowledged);
    expect(Math.min(...writes.map((w) => w.lockedAtMs))).toBeGreaterThanOrEqual(frozenUntilMs);
    // Every logged write is in the file: each inserted note is there with the content its hash names.
    const now = sourceState(source);
    const inserted = writes.filter((w) => w.table === 'local_notes' && w.op === 'insert');
    expect(inserted.length).toBeGreaterThan(0);
    const last = new Map(writes.filter((w) => w.table === 'local_notes').map((w) => [w.key, w.contentHash]));
    for (const w of inserted) expect(now.local_notes!.get(w.key) ?? null, w.key).toBe(last.get(w.key));
  }, 60_000);
});
