// Online mode, one cut-over attempt (workflows/phases/cutover.ts), in one activity so the freeze
// window is measured on one process's monotonic clock and every exit path unfreezes:
//   freeze hook (when named; frozenUntilMs = now + budget) → the source's write lock (BEGIN
//   IMMEDIATE) → the rest of the change log applied → tail validation of the keys it touched
//   (counts, checksum and a decrypting compare of every touched row) → a copy of the source file as
//   it is under the lock → COMMIT → switch hook (when named: the app uses the target from now on) →
//   lock released → unfreeze hook.
// The window (freeze hook called → unfreeze acknowledged; without a hook, lock taken → released)
// above the budget, or a pending log above maxFinalChanges, ends the attempt unsuccessfully: the
// workflow catches up with delta passes and tries again. So does a switch hook that fails or does not
// answer within what is left of the budget (after a best-effort unswitch: nothing stays switched).
// Once the switch is acknowledged the attempt is done: an unfreeze that then overruns the budget does
// not take the app back. What validation expects of the target is
// recomputed from the copy after writes resumed, so the freeze does not grow with the source.
// If the worker dies mid-attempt, the OS drops the source lock, PostgreSQL the transaction, and the
// flag's frozenUntilMs ends the app's freeze within the budget.
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Context, heartbeat, log } from '@temporalio/activity';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { coalesceChanges } from '../lib/capture';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
import { DELTA_MAX_CHANGES_PER_PASS, MAX_FREEZE_BUDGET_MS } from '../lib/defaults';
import { InvalidInputError, ValidationError } from '../lib/errors';
import { targetId } from '../lib/ids';
import { mappingFor, TABLE_ORDER } from '../lib/mapping';
import type { TableMapping } from '../lib/mapping/types';
import { quoteIdent, sqlFile } from '../infra/sql-files';
import { freezeCopyPath, openSourceWritable } from './capture';
import { applyBatch, type DeltaPassInput, expectedTable, type ExpectedTable, type PassCtx, readLog } from './delta';
import type { ActivityDeps } from './deps';
import type { FreezeHookConfig } from '../lib/worker-config';
import { hookOf, runFreezeHook } from './freeze';
import { assertLeaseHeld } from './lease';
import { recordCutoverAttempt, recordWriteFreeze } from './metrics';
import { prepareRows, selectByKeys, targetRefLookup } from './prepare-rows';

export interface CutoverAttemptInput extends Omit<DeltaPassInput, 'freeze'> {
  /** A freeze hook of the worker config; absent: the source's write lock is the whole freeze. */
  freezeHook?: string;
  /** A hook of the worker config called with action `switch` once the tail validated; absent: nothing is called. */
  switchHook?: string;
  budgetMs: number;
  maxFinalChanges: number;
}

export type CutoverOutcome = 'done' | 'over-budget' | 'delta-too-big' | 'switch-failed';

export interface CutoverAttemptResult {
  outcome: CutoverOutcome;
  /** Freeze hook called (or lock taken) → unfreeze acknowledged (or lock released), this process's monotonic clock. */
  windowMs: number;
  /** How long the source's write lock was ours, and of it the part applying the log. */
  lockMs: number;
  drainMs: number;
  /** Epoch ms (worker clock) when the lock was taken and released: writes the app committed before startedAtMs are applied. */
  startedAtMs: number;
  endedAtMs: number;
  /** Changes that waited when the lock was taken. */
  pending: number;
  lastSeq: number;
  changes: number;
  upserted: number;
  deleted: number;
  /** Rows the tail validation compared (decrypted from the target against the source under the lock). */
  tailRows: number;
  /** Epoch ms the switch hook acknowledged (the app uses the target from then on); null without a switch. */
  switchedAtMs?: number | null;
  /** Done only: what validation expects of each table at the freeze point. */
  expected: Record<string, ExpectedTable> | null;
}

const targetKeyOf = (mapping: TableMapping, key: string, userId: string) =>
  // A link's target key is its note's id (lib/mapping/note-folders.ts).
  targetId(mapping.sourceTable === 'note_folders' ? 'local_notes' : mapping.sourceTable, key, userId);

/** The tail: every touched key's target row (decrypted) equals its source row under the lock; absent keys are absent. */
async function validateTail(p: PassCtx, touched: Map<string, Set<string>>): Promise<number> {
  const failures: string[] = [];
  let compared = 0;
  for (const table of TABLE_ORDER) {
    const keys = [...(touched.get(table) ?? [])];
    if (keys.length === 0) continue;
    const mapping = mappingFor(table);
    const rows = selectByKeys(p.db, mapping, keys);
    const prepared = await prepareRows(p.db, mapping, rows, p.ctx, targetRefLookup(p.client, p.schema, p.input.userId));
    const { rows: refused } = await p.client.query<{ local_id: string }>(
      sqlFile('queries/bridge_quarantined.sql', { schema: p.schema, bridge: mapping.bridgeTable }),
      [p.input.userId, prepared.ok.map((r) => r.sourceId)],
    );
    const refusedIds = new Set(refused.map((r) => r.local_id));
    const want = new Map(
      prepared.ok.filter((r) => !refusedIds.has(r.sourceId)).map((r) => [r.targetId, canonicalJson(r.canonical)]),
    );
    const ids = [...new Set(keys.map((k) => targetKeyOf(mapping, k, p.input.userId)))];
    const { rows: found } = await p.client.query<Record<string, unknown>>(
      sqlFile('queries/select_target_rows.sql', {
        schema: p.schema,
        table: mapping.targetTable,
        key: mapping.targetKeyColumn,
      }),
      [ids, p.input.userId],
    );
    const have = new Map<string, string>();
    let undecryptable = 0;
    for (const row of found) {
      try {
        have.set(String(row[mapping.targetKeyColumn]), canonicalJson(mapping.decode(row, p.sealer)));
      } catch {
        undecryptable++;
      }
    }
    const sum = (m: Map<string, string>) => {
      const acc = new ChecksumAccumulator();
      for (const v of m.values()) acc.add(v);
      return acc.hex();
    };
    const differing = [...want].filter(([id, v]) => have.get(id) !== v).length;
    const extra = [...have.keys()].filter((id) => !want.has(id)).length;
    if (undecryptable) failures.push(`${table}: ${undecryptable} touched target rows do not decrypt`);
    if (have.size !== want.size || sum(have) !== sum(want) || differing || extra)
      failures.push(
        `${table} tail: ${have.size} target rows for ${want.size} source rows, ${differing} differ, ${extra} should be gone`,
      );
    compared += want.size;
  }
  if (failures.length) throw new ValidationError(`cut-over tail validation failed: ${failures.join('; ')}`, failures);
  return compared;
}

interface AttemptState {
  out: CutoverAttemptResult;
  /** Monotonic start of the window: the freeze hook's call, or the lock without a hook. */
  windowStart: number | null;
  db: Database.Database | null;
  lockedAt: number | null;
  snapshotTaken: boolean;
}

/** The frozen part: the source's write lock, the rest of the log, the tail validation and the copy. */
async function lockAndDrain(
  deps: ActivityDeps,
  input: CutoverAttemptInput,
  path: string,
  snapshot: string,
  st: AttemptState,
) {
  const { out } = st;
  const db = openSourceWritable(path);
  st.db = db;
  const remaining = input.budgetMs - (st.windowStart === null ? 0 : performance.now() - st.windowStart);
  db.pragma(`busy_timeout = ${Math.max(1, Math.floor(remaining))}`);
  try {
    db.exec('BEGIN IMMEDIATE'); // the app's writers wait from here
  } catch (err) {
    // The app held the lock for the rest of the budget: this attempt is over budget, not an error.
    if (!/^SQLITE_BUSY/.test((err as { code?: string }).code ?? '')) throw err;
    out.outcome = 'over-budget';
    return;
  }
  const lockedAt = performance.now();
  st.lockedAt = lockedAt;
  st.windowStart ??= lockedAt;
  out.startedAtMs = Date.now();
  out.pending = (db.prepare(sqlFile('source/capture_pending.sql')).get({ after: input.afterSeq }) as { n: number }).n;
  if (out.pending > input.maxFinalChanges) {
    out.outcome = 'delta-too-big';
    return;
  }
  const client = await deps.pool(input.target).connect();
  try {
    const p = passCtx(deps, input, db, client);
    await client.query('BEGIN');
    await assertLeaseHeld(client, input.runId);
    const touched = new Map<string, Set<string>>();
    for (;;) {
      const entries = readLog(db, out.lastSeq);
      const batch = coalesceChanges(entries, out.lastSeq);
      out.lastSeq = batch.lastSeq;
      out.changes += batch.changes;
      for (const [t, keys] of batch.keys)
        for (const k of keys) (touched.get(t) ?? touched.set(t, new Set()).get(t)!).add(k);
      const r = await applyBatch(p, batch.keys);
      out.upserted += r.upserted;
      out.deleted += r.deleted;
      if (entries.length < DELTA_MAX_CHANGES_PER_PASS) break;
    }
    out.drainMs = performance.now() - lockedAt;
    out.tailRows = await validateTail(p, touched);
    // The source as it is under the lock (we wrote nothing: no journal): what validation will expect,
    // computed from this copy after writes resume.
    mkdirSync(deps.backupDir, { recursive: true });
    copyFileSync(path, snapshot);
    st.snapshotTaken = true;
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

function passCtx(
  deps: ActivityDeps,
  input: CutoverAttemptInput,
  db: Database.Database,
  client: pg.ClientBase,
): PassCtx {
  return {
    db,
    client,
    sealer: deps.sealer(input.keyring, input.userId),
    input: { ...input, freeze: true },
    ctx: { userId: input.userId, asOfSeconds: input.asOfSeconds },
    schema: quoteIdent(deps.schema(input.target)),
  };
}

/** What validation expects of every table at the freeze point, from the copy taken under the lock. */
async function expectedFromCopy(deps: ActivityDeps, input: CutoverAttemptInput, snapshot: string) {
  const copy = new Database(snapshot, { readonly: true, fileMustExist: true });
  const client = await deps.pool(input.target).connect();
  try {
    const p = passCtx(deps, input, copy, client);
    const expected: Record<string, ExpectedTable> = {};
    for (const table of TABLE_ORDER) expected[table] = await expectedTable(p, mappingFor(table));
    return expected;
  } finally {
    client.release();
    copy.close(); // kept for validation's sample; removing the capture removes it
  }
}

/** The switch hook within what is left of the budget; failed or too slow: unswitched (best effort), the attempt not done. */
async function switchApp(
  name: string,
  hook: FreezeHookConfig,
  input: CutoverAttemptInput,
  st: AttemptState,
  cancelled: AbortSignal,
): Promise<void> {
  const { out } = st;
  const left = input.budgetMs - (performance.now() - (st.windowStart ?? performance.now()));
  if (left < 1) {
    out.outcome = 'over-budget'; // the switch would exceed the budget: not called
    return;
  }
  const budget = AbortSignal.timeout(Math.floor(left));
  try {
    await runFreezeHook(name, hook, 'switch', input.runId, Date.now() + Math.floor(left), {
      signal: AbortSignal.any([cancelled, budget]),
    });
    out.switchedAtMs = Date.now();
    return;
  } catch (err) {
    out.outcome = budget.aborted ? 'over-budget' : 'switch-failed';
    // A hook may have switched without acknowledging: nothing stays switched (the rollback's unswitch covers a failure here).
    await runFreezeHook(name, hook, 'unswitch', input.runId, Date.now()).catch(() => undefined);
    if (cancelled.aborted) throw err;
    log.warn('cut-over: the switch hook did not acknowledge; attempt not done', {
      hook: name,
      outcome: out.outcome,
      error: (err as Error).message,
    });
  }
}

export function createCutoverActivities(deps: ActivityDeps) {
  return {
    async cutoverAttempt(input: CutoverAttemptInput): Promise<CutoverAttemptResult> {
      if (!Number.isInteger(input.budgetMs) || input.budgetMs < 1 || input.budgetMs > MAX_FREEZE_BUDGET_MS)
        throw new InvalidInputError(
          'online.cutover.budgetMs',
          `must be an integer from 1 to ${MAX_FREEZE_BUDGET_MS} ms`,
        );
      const path = deps.capabilities.sourcePath(input.source, 'source');
      const hookName = input.freezeHook;
      const hook = hookName === undefined ? null : hookOf(deps, hookName);
      const switchName = input.switchHook;
      const switchHook = switchName === undefined ? null : hookOf(deps, switchName, 'switchHook');
      const label = hookName ?? 'source-lock';
      const cancelled = Context.current().cancellationSignal;
      // Heartbeats carry an abort to us (cancellation) while the hook or the lock is awaited.
      const beat = setInterval(() => heartbeat({ phase: 'cutover' }), 500);
      // Written under a name of its own; renamed to the run's freeze copy once the attempt succeeded.
      const snapshot = join(deps.backupDir, `.cutover-${process.pid}-${Date.now()}.partial.sqlite`);
      const st: AttemptState = {
        out: {
          outcome: 'done',
          windowMs: 0,
          lockMs: 0,
          drainMs: 0,
          startedAtMs: 0,
          endedAtMs: 0,
          pending: 0,
          lastSeq: input.afterSeq,
          changes: 0,
          upserted: 0,
          deleted: 0,
          tailRows: 0,
          switchedAtMs: null,
          expected: null,
        },
        windowStart: null,
        db: null,
        lockedAt: null,
        snapshotTaken: false,
      };
      const { out } = st;
      let finished = false;
      try {
        if (hook && hookName) {
          st.windowStart = performance.now();
          // The hook's answer is awaited at most the budget (and never past an abort): a hook slower
          // than the budget makes an attempt over budget, not an error to retry at once.
          const budget = AbortSignal.timeout(input.budgetMs);
          try {
            await runFreezeHook(hookName, hook, 'freeze', input.runId, Date.now() + input.budgetMs, {
              signal: AbortSignal.any([cancelled, budget]),
            });
          } catch (err) {
            if (!budget.aborted || cancelled.aborted) throw err;
            out.outcome = 'over-budget';
          }
        }
        if (out.outcome === 'done') await lockAndDrain(deps, input, path, snapshot, st);
        // Still under the source's lock (and the freeze): no write of the app lands between the switch and the copy.
        if (out.outcome === 'done' && switchHook && switchName)
          await switchApp(switchName, switchHook, input, st, cancelled);
        finished = true;
      } finally {
        clearInterval(beat);
        if (st.db) {
          if (st.db.inTransaction) st.db.exec('ROLLBACK'); // the attempt wrote nothing to the source: releasing the lock is all
          st.db.close();
          if (st.lockedAt !== null) out.lockMs = performance.now() - st.lockedAt;
          out.endedAtMs = Date.now();
        }
        // Unfrozen on every path (an error, an abort, over budget): a hook may have frozen the app
        // without acknowledging. A failed unfreeze fails the attempt; the flag's expiry still bounds it.
        if (hook && hookName) await runFreezeHook(hookName, hook, 'unfreeze', input.runId, Date.now());
        if (st.windowStart !== null) {
          out.windowMs = performance.now() - st.windowStart;
          recordWriteFreeze(label, out.windowMs / 1000, 'monotonic');
        }
        // Switched: the app is on the target; an overrun of the unfreeze does not undo that.
        if (out.outcome === 'done' && out.windowMs > input.budgetMs && out.switchedAtMs === null)
          out.outcome = 'over-budget';
        recordCutoverAttempt(label, out.outcome === 'done' ? 'frozen' : 'failed');
        if ((!finished || out.outcome !== 'done') && st.snapshotTaken) rmSync(snapshot, { force: true });
      }
      if (out.outcome !== 'done') return out;
      const copy = freezeCopyPath(deps, input.runId);
      renameSync(snapshot, copy);
      out.expected = await expectedFromCopy(deps, input, copy);
      return out;
    },
  };
}
