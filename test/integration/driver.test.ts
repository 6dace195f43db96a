// The migration driver's own logic (workflows/migration.ts over workflows/phases/, the saga, the
// operator's Updates, the rollback), on a real Temporal dev server with a real Worker whose
// activities are in-memory stubs (test/helpers/stub-activities.ts): phase order, which
// compensations unwind after a failure or an abort in each phase, pause/resume, ROLLBACK_FAILED.
// What the activities do to a database is proven against real PostgreSQL in the other suites.
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationInput } from '../../lib/input';
import { TABLE_ORDER } from '../../lib/mapping';
import {
  abortUpdate,
  PHASE_NAMES,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  type PhaseName,
  type RollbackReport,
} from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { PHASES } from '../../workflows/phases';
import {
  defaultStubs,
  Gate,
  startStubWorker,
  type ActivityName,
  type StubCall,
  type StubOptions,
  type StubRun,
  type StubWorker,
} from '../helpers/stub-activities';
import { waitUntil } from '../helpers/wait';

const ROWS = 20;
const CHUNK_ROWS = 10; // two chunks per table

/** The activity calls each phase makes on the happy path, in order (labels: see `label`). */
const FORWARD: Record<PhaseName, string[]> = {
  preflight: ['preflight', 'fingerprintTarget'],
  backup: ['backupSource', 'ensureFullBackup', 'backupPreImage'],
  schema: ['ensureSchema', 'acquireLease', 'registerOwnership', 'recordBackups', 'measureBaseline'],
  indexes: ['buildIndexes:critical', 'buildIndexes:temporary'],
  transfer: [
    ...TABLE_ORDER.flatMap((t) => [`planChunks:${t}`, `transferChunk:${t}`, `transferChunk:${t}`]),
    'linkTaskParents',
  ],
  validation: [...TABLE_ORDER.map((t) => `validateTable:${t}`), 'validateReferences'],
  'post-migration': [
    'buildIndexes:post-migration',
    'analyzeTargets',
    'archiveBridge',
    'dropIndexes:temporary',
    'releaseLease',
  ],
  soak: [],
};
/** Calls a phase makes side by side (patches 'parallel-backups', 'parallel-validation'): they start
 * in any order, so a run's calls are compared with each group in the order FORWARD lists it. */
const CONCURRENT: string[][] = [
  ['backupSource', 'ensureFullBackup'],
  [...TABLE_ORDER.map((t) => `validateTable:${t}`), 'validateReferences'],
];

/** The compensations each phase pushes on the saga (workflows/phases/<phase>.ts `undo`). */
const PUSHES: Record<PhaseName, string[]> = {
  preflight: [],
  backup: [],
  schema: ['releaseLease', 'unregisterOwnership', 'dropCreatedTables'],
  indexes: ['dropRunIndexes'],
  transfer: ['removeRunRows'],
  validation: [],
  'post-migration': [],
  soak: [],
};
/** The activity a test catches each phase in (fails it, or blocks it until an abort). Soak has none. */
const CAUGHT_IN: Record<Exclude<PhaseName, 'soak'>, ActivityName> = {
  preflight: 'preflight',
  backup: 'backupPreImage',
  schema: 'measureBaseline',
  indexes: 'buildIndexes',
  transfer: 'transferChunk',
  validation: 'validateTable',
  'post-migration': 'analyzeTargets',
};
const FORWARD_PHASES = PHASE_NAMES.filter((p): p is Exclude<PhaseName, 'soak'> => p !== 'soak');

/** A call as the expectations above name it; the health guard's readings and log writes are left out. */
function label(c: StubCall): string | null {
  const i = c.input;
  if (c.name === 'logEvent' || c.name === 'healthCheck') return null;
  if (c.name === 'buildIndexes' || c.name === 'dropIndexes') return `${c.name}:${String(i.set)}`;
  if (c.name === 'planChunks' || c.name === 'transferChunk' || c.name === 'validateTable')
    return `${c.name}:${String(i.table)}`;
  if (c.name === 'notify') return `notify:${String(i.event)}`;
  return c.name;
}

/** The forward calls, then (if any) the rollback's, split at the rollback's first notification. */
function split(run: StubRun): { forward: string[]; rollback: string[] } {
  const labels = inGroupOrder(run.calls.map(label).filter((l): l is string => l !== null));
  const at = labels.indexOf('notify:rollback-started');
  return at < 0 ? { forward: labels, rollback: [] } : { forward: labels.slice(0, at), rollback: labels.slice(at) };
}

/** The calls of each CONCURRENT group put in the group's order, in the positions they took. */
function inGroupOrder(labels: string[]): string[] {
  const out = [...labels];
  for (const group of CONCURRENT) {
    const at = out.flatMap((l, i) => (group.includes(l) ? [i] : []));
    const sorted = at.map((i) => out[i]!).sort((a, b) => group.indexOf(a) - group.indexOf(b));
    at.forEach((i, k) => (out[i] = sorted[k]!));
  }
  return out;
}

/** The happy path's calls up to and including the first call of `activity` within `phase` (and the
 * calls started beside it). */
function forwardThrough(phase: PhaseName, activity: ActivityName): string[] {
  const before = PHASE_NAMES.slice(0, PHASE_NAMES.indexOf(phase)).flatMap((p) => FORWARD[p]);
  const own = FORWARD[phase];
  let at = own.findIndex((l) => l === activity || l.startsWith(`${activity}:`));
  expect(at, `${activity} is a call of ${phase}`).toBeGreaterThanOrEqual(0);
  const group = CONCURRENT.find((g) => g.includes(own[at]!));
  if (group) at = own.indexOf(group.at(-1)!);
  return [...before, ...own.slice(0, at + 1)];
}

/** The compensations pushed by the phases up to and including `phase`, in unwind (reverse) order. */
function unwindThrough(phase: PhaseName): string[] {
  return PHASE_NAMES.slice(0, PHASE_NAMES.indexOf(phase) + 1)
    .flatMap((p) => PUSHES[p])
    .reverse();
}

/** A rollback that succeeded: notify, fence, unwind, prove (fingerprint + run artifacts), notify. */
function rollbackCalls(unwound: string[], outcome: 'succeeded' | 'failed' = 'succeeded'): string[] {
  return [
    'notify:rollback-started',
    'releaseLease',
    ...unwound,
    'fingerprintTarget',
    'runArtifacts',
    `notify:rollback-${outcome}`,
  ];
}

const fault = (name: string) => async (): Promise<never> => {
  throw ApplicationFailure.nonRetryable(`stub fault in ${name}`, 'StubFault');
};

let w: StubWorker;
beforeAll(async () => {
  w = await startStubWorker();
});
afterAll(async () => {
  await w?.stop();
});

function input(extra: Partial<MigrationInput> = {}): MigrationInput {
  return {
    source: '/stub/source.sqlite',
    userId: randomUUID(),
    target: 'stub-target',
    keyring: 'stub-keyring',
    chunkRows: CHUNK_ROWS,
    parallelism: 1, // one chunk at a time: the call order is deterministic
    // No reading falls inside these short runs: the guard's timer is cancelled at the end.
    health: { intervalMs: 3_600_000, soakMs: 0 },
    ...extra,
  };
}

async function start(
  options: StubOptions,
  extra: Partial<MigrationInput> = {},
): Promise<{ handle: WorkflowHandle<typeof migrationWorkflow>; run: StubRun }> {
  const workflowId = `driver-${randomUUID()}`;
  const run = w.stubs.plan(workflowId, { rowsPerTable: ROWS, ...options });
  const handle = await w.client.workflow.start(migrationWorkflow, {
    taskQueue: w.taskQueue,
    workflowId,
    args: [input(extra)],
  });
  return { handle, run };
}

/** The workflow's failure (it must fail), unwrapped to its ApplicationFailure. */
async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

// Every test plans its own run (workflow id, stub overrides) on the one worker, so they run concurrently.
describe.concurrent('migration driver', () => {
  it('happy path: the phases run in PHASES order, each making its calls in order, and the run completes', async () => {
    expect(PHASES.map((p) => p.name)).toEqual(FORWARD_PHASES);
    const { handle, run } = await start({});
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(split(run)).toEqual({ forward: FORWARD_PHASES.flatMap((p) => FORWARD[p]), rollback: [] });
    // The phase sequence as the run logged it (migration_log is writable from the schema phase on).
    const logged = run.calls
      .filter((c) => c.name === 'logEvent')
      .map((c) => `${String(c.input.phase)}:${String(c.input.status)}`);
    const afterSchema = FORWARD_PHASES.slice(FORWARD_PHASES.indexOf('indexes')).flatMap((p) => [
      `${p}:started`,
      `${p}:completed`,
    ]);
    expect(logged).toEqual(['preflight:info', 'health:info', 'schema:completed', ...afterSchema, 'run:closed']);
    expect(Object.keys(result.phaseDurationsMs)).toEqual(FORWARD_PHASES);
    for (const t of TABLE_ORDER)
      expect(result.tables[t], t).toMatchObject({ sourceRows: ROWS, read: ROWS, migrated: ROWS, chunks: 2 });
    expect(result.validation.ok).toBe(true);
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({
      phase: 'completed',
      paused: false,
      abortReason: null,
      chunksDone: 2 * TABLE_ORDER.length,
    });
  });

  describe('a failure in a phase unwinds exactly the compensations pushed so far, in reverse, then proves', () => {
    it.each(FORWARD_PHASES)('%s', async (phase) => {
      const activity = CAUGHT_IN[phase];
      const { handle, run } = await start({ overrides: { [activity]: fault(activity) } });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      const calls = split(run);
      // No later phase ran: the forward calls stop at the failing one.
      expect(calls.forward).toEqual(forwardThrough(phase, activity));
      const unwound = unwindThrough(phase);
      if (unwound.length === 0) {
        // Nothing changed the target yet: no rollback, the activity's failure is the run's.
        expect(calls.rollback).toEqual([]);
        expect(cause).toBeInstanceOf(ActivityFailure);
        expect(cause?.cause).toMatchObject({ type: 'StubFault', message: `stub fault in ${activity}` });
        return;
      }
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ type: 'RolledBack' });
      const report = (cause as ApplicationFailure).details![0] as RollbackReport;
      expect(report).toMatchObject({
        cause: 'failure',
        compensated: unwound,
        failed: [],
        fingerprintEqual: true,
        remaining: [],
        runbook: [],
      });
      expect(report.reason).toContain(`stub fault in ${activity}`);
      expect(calls.rollback).toEqual(rollbackCalls(unwound));
      expect((await handle.query(progressQuery)).phase).toBe('rolled-back');
    });
  });

  describe('an abort during a phase rolls back what was pushed so far and runs no later phase', () => {
    it.each(PHASE_NAMES)('%s', async (phase) => {
      const g = new Gate();
      const activity = phase === 'soak' ? null : CAUGHT_IN[phase];
      const stubs = defaultStubs(ROWS);
      const overrides = activity ? { [activity]: g.blockFirstCall(stubs[activity] as () => Promise<unknown>) } : {};
      const { handle, run } = await start(
        { overrides },
        phase === 'soak' ? { health: { intervalMs: 3_600_000, soakMs: 600_000 } } : {},
      );
      try {
        if (activity) await g.reached;
        else
          await waitUntil('the soak window', async () => (await handle.query(progressQuery)).phase === 'soak', {
            timeoutMs: 30_000,
          });
        expect((await handle.query(progressQuery)).phase).toBe(phase);
        expect(await handle.executeUpdate(abortUpdate, { args: ['driver test'] })).toEqual({
          aborting: true,
          reason: 'operator abort: driver test',
        });
        // A chunk that completed before the child saw its cancellation would let the window start the
        // next one: the blocked chunk returns only once the rollback started (the child has closed).
        if (phase === 'transfer')
          await waitUntil('the rollback started', async () =>
            run.calls.some((c) => label(c) === 'notify:rollback-started'),
          );
        g.open(); // the abort arrived: the blocked stub returns (its workflow already stopped waiting for it)
        const failure = await failureOf(handle);
        const calls = split(run);
        expect(calls.forward).toEqual(
          activity ? forwardThrough(phase, activity) : FORWARD_PHASES.flatMap((p) => FORWARD[p]),
        );
        const unwound = unwindThrough(phase);
        if (unwound.length === 0) {
          expect(failure.type).toBe('Aborted');
          expect(failure.message).toBe('operator abort: driver test (before any change to the target)');
          expect(calls.rollback).toEqual([]);
          return;
        }
        expect(failure.type).toBe('RolledBack');
        const report = failure.details![0] as RollbackReport;
        expect(report).toMatchObject({
          reason: 'operator abort: driver test',
          cause: 'abort',
          compensated: unwound,
          failed: [],
          fingerprintEqual: true,
        });
        expect(calls.rollback).toEqual(rollbackCalls(unwound));
        expect(await handle.query(progressQuery)).toMatchObject({
          phase: 'rolled-back',
          abortReason: 'operator abort: driver test',
        });
      } finally {
        g.open(); // whatever failed above, the worker must be able to shut down
      }
    });
  });

  it('pause holds the next chunk until resume; the run then completes', async () => {
    const g = new Gate();
    const { handle, run } = await start({
      overrides: { transferChunk: g.blockFirstCall(defaultStubs(ROWS).transferChunk) },
    });
    const chunks = () => run.calls.filter((c) => c.name === 'transferChunk');
    try {
      await g.reached;
      expect(await handle.executeUpdate(pauseUpdate)).toEqual({ paused: true, phase: 'transfer' });
      g.open(); // the chunk in flight finishes while paused
      const child = w.client.workflow.getHandle(chunks()[0]!.workflowId);
      // Deterministic, no sleep: the child recorded the chunk's completion and then finished a
      // workflow task after it, i.e. it decided its next step while paused.
      type Events = NonNullable<Awaited<ReturnType<typeof child.fetchHistory>>['events']>;
      const afterChunk = (events: Events): Events | null => {
        const scheduled = events.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'transferChunk',
        );
        const at = events.findIndex(
          (e) =>
            scheduled && String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
        );
        return at < 0 ? null : events.slice(at + 1);
      };
      let after: Events = [];
      await waitUntil('the child to decide its next step after the first chunk completed', async () => {
        after = afterChunk((await child.fetchHistory()).events ?? []) ?? [];
        return after.some((e) => e.workflowTaskCompletedEventAttributes);
      });
      expect(after.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
      expect(chunks()).toHaveLength(1);
      expect(await handle.query(progressQuery)).toMatchObject({ phase: 'transfer', paused: true });

      expect(await handle.executeUpdate(resumeUpdate)).toEqual({ paused: false, phase: 'transfer' });
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(chunks()).toHaveLength(2 * TABLE_ORDER.length);
      expect(split(run)).toEqual({ forward: FORWARD_PHASES.flatMap((p) => FORWARD[p]), rollback: [] });
    } finally {
      g.open();
    }
  });

  describe('ROLLBACK_FAILED', () => {
    it('a compensation that fails: the others still run, the run ends ROLLBACK_FAILED with the runbook', async () => {
      const { handle, run } = await start({
        overrides: { validateTable: fault('validateTable'), removeRunRows: fault('removeRunRows') },
      });
      const failure = await failureOf(handle);
      expect(failure.type).toBe('ROLLBACK_FAILED');
      expect(failure.message).toMatch(
        /^ROLLBACK_FAILED after "[^"]*stub fault in validateTable[^"]*": removeRunRows: stub fault in removeRunRows/,
      );
      const report = failure.details![0] as RollbackReport;
      expect(report).toMatchObject({
        cause: 'failure',
        compensated: ['dropRunIndexes', 'dropCreatedTables', 'unregisterOwnership', 'releaseLease'],
        fingerprintEqual: true,
      });
      expect(report.failed).toEqual([{ step: 'removeRunRows', error: 'stub fault in removeRunRows' }]);
      expect(
        report.runbook.some((c) => c.includes('runbook restore') && c.includes('--backup-id target-pg_dump-')),
      ).toBe(true);
      expect(split(run).rollback).toEqual(rollbackCalls(unwindThrough('validation'), 'failed'));
      expect((await handle.query(progressQuery)).phase).toBe('rollback-failed');
    });

    it('every compensation succeeds but the proof finds a difference: ROLLBACK_FAILED', async () => {
      let fingerprints = 0;
      const left = { tables: { 'public.notes': { rows: 3, checksum: '00000000000000ff' } }, indexes: [] };
      const { handle, run } = await start({
        overrides: {
          validateTable: fault('validateTable'),
          // Before the run the target is empty; after the rollback three rows are left.
          fingerprintTarget: async () => (fingerprints++ === 0 ? { tables: {}, indexes: [] } : left),
        },
      });
      const failure = await failureOf(handle);
      expect(failure.type).toBe('ROLLBACK_FAILED');
      const report = failure.details![0] as RollbackReport;
      expect(report).toMatchObject({
        failed: [],
        fingerprintEqual: false,
        differences: ['table public.notes exists now but did not before'],
      });
      expect(report.compensated).toEqual(unwindThrough('validation'));
      expect(split(run).rollback).toEqual(rollbackCalls(unwindThrough('validation'), 'failed'));
    });
  });
});
