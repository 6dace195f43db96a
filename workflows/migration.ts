// migrationWorkflow: one user's source file into the target, phase by phase (DESIGN.md §1), as a
// saga: every step that changes the target has its compensation on the stack, and a failure, an
// operator abort, a cancellation or a health trigger unwinds it in a non-cancellable scope and
// proves the target equals its pre-run fingerprint. Holds ids, counts and checksums only.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  startChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackupRecord, HealthReading, TableValidation } from '../activities';
import { addChecksums } from '../lib/checksum';
import { MigrationError } from '../lib/errors';
import { diffFingerprints, type TargetFingerprint } from '../lib/fingerprint';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { parseMigrationInput, type MigrationConfig, type MigrationInput, type Phase } from '../lib/input';
import { activitiesFor } from './activity-options';
import {
  abortUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setChunkSizeUpdate,
  tableProgressSignal,
  transferControlSignal,
  type MigrationProgress,
  type MigrationResult,
  type RollbackReport,
  type TableReport,
} from './definitions';
import { startHealthGuard, type GuardHandle } from './health-guard';
import { assertState } from './assert';
import { innermost, Saga } from './saga';
import { MigrationPhase, MigrationStatus, MigrationTarget, MigrationUser } from './search-attributes';
import { transferTable } from './transfer-table';

function parseInput(raw: MigrationInput): MigrationConfig {
  try {
    return parseMigrationInput(raw);
  } catch (err) {
    if (err instanceof MigrationError) throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
    throw err;
  }
}

export async function migrationWorkflow(raw: MigrationInput): Promise<MigrationResult> {
  const cfg = parseInput(raw);
  const info = workflowInfo();
  const runId = info.firstExecutionRunId;
  const asOfSeconds = Math.floor(Date.now() / 1000); // workflow time: identical on every replay
  const { short, long, compensation } = activitiesFor(cfg.heartbeatTimeoutMs);
  const saga = new Saga();
  const mainScope = new CancellationScope();
  let abortReason: string | null = null;
  let abortCause: RollbackReport['cause'] = 'failure';
  let currentChild: string | null = null;
  let transferStarted: number | null = null;
  let totalSourceRows = 0;

  const progress: MigrationProgress = {
    runId,
    phase: 'starting',
    table: null,
    tables: {},
    phaseDurationsMs: {},
    paused: false,
    chunkRows: cfg.chunkRows,
    chunksDone: 0,
    chunksTotal: 0,
    rowsRead: 0,
    rowsTotal: 0,
    rowsPerSecond: null,
    etaSeconds: null,
    lastHealth: null,
    abortReason: null,
  };
  setHandler(progressQuery, () => {
    const tables = Object.values(progress.tables);
    const rowsRead = tables.reduce((n, t) => n + (t.read ?? 0), 0);
    const elapsed = transferStarted === null ? 0 : (Date.now() - transferStarted) / 1000;
    const rate = elapsed > 0 && rowsRead > 0 ? rowsRead / elapsed : null;
    return {
      ...progress,
      chunksDone: tables.reduce((n, t) => n + (t.chunks ?? 0), 0),
      rowsRead,
      rowsTotal: totalSourceRows,
      rowsPerSecond: rate,
      etaSeconds: rate ? Math.max(0, (totalSourceRows - rowsRead) / rate) : null,
      abortReason,
    };
  });
  setHandler(tableProgressSignal, ({ table, totals }) => {
    progress.tables[table] = { ...progress.tables[table], ...totals };
  });

  const forwardControl = async () => {
    if (!currentChild) return;
    await getExternalWorkflowHandle(currentChild)
      .signal(transferControlSignal, { paused: progress.paused, chunkRows: progress.chunkRows })
      .catch(() => undefined); // the child just finished: the next one starts with the current state
  };
  const running = () => abortReason === null && !['completing', 'completed', 'dry-run', 'rolling-back', 'rolled-back', 'rollback-failed'].includes(progress.phase);
  setHandler(
    pauseUpdate,
    async () => {
      progress.paused = true;
      await forwardControl();
      return { paused: true as const, phase: progress.phase };
    },
    { validator: () => assertState(running() && !progress.paused, 'pause: the run is not running, or already paused') },
  );
  setHandler(
    resumeUpdate,
    async () => {
      progress.paused = false;
      await forwardControl();
      return { paused: false as const, phase: progress.phase };
    },
    { validator: () => assertState(progress.paused, 'resume: the run is not paused') },
  );
  setHandler(
    setChunkSizeUpdate,
    async (rows) => {
      const previous = progress.chunkRows;
      progress.chunkRows = rows;
      await forwardControl();
      return { chunkRows: rows, previous };
    },
    {
      validator: (rows) => {
        assertState(Number.isInteger(rows) && rows >= 1 && rows <= 100_000, `setChunkSize: chunk size must be an integer from 1 to 100000, got ${rows}`);
        assertState(running(), 'setChunkSize: the run is not running');
      },
    },
  );
  setHandler(
    abortUpdate,
    (reason) => {
      const why = `operator abort${reason ? `: ${reason}` : ''}`;
      abortReason = why;
      abortCause = 'abort';
      progress.paused = false;
      mainScope.cancel();
      return { aborting: true as const, reason: why };
    },
    { validator: (_reason: string | undefined) => assertState(running(), 'abort: the run is not running (completed, or already rolling back)') },
  );

  upsertSearchAttributes([
    { key: MigrationUser, value: cfg.userId },
    { key: MigrationTarget, value: cfg.target },
    { key: MigrationStatus, value: 'running' },
  ]);

  let loggingReady = false;
  const log = async (phase: string, status: 'started' | 'completed' | 'failed' | 'info' | 'closed', message = '') => {
    if (loggingReady) await short.logEvent({ target: cfg.target, runId, userId: cfg.userId, phase, status, message });
  };
  const phase = async <T>(name: Phase, body: () => Promise<T>): Promise<T> => {
    await condition(() => !progress.paused);
    progress.phase = name;
    upsertSearchAttributes([{ key: MigrationPhase, value: name }]);
    const started = Date.now();
    await log(name, 'started');
    const result = await body();
    progress.phaseDurationsMs[name] = Date.now() - started;
    await log(name, 'completed');
    if (cfg.faults?.failAfterPhase === name) {
      throw ApplicationFailure.create({ type: 'InjectedFault', nonRetryable: true, message: `injected failure after phase ${name} (faults.failAfterPhase)` });
    }
    return result;
  };

  const result: MigrationResult = {
    workflowId: info.workflowId,
    runId,
    userId: cfg.userId,
    target: cfg.target,
    dryRun: cfg.dryRun,
    status: cfg.dryRun ? 'dry-run' : 'completed',
    tables: {},
    phaseDurationsMs: progress.phaseDurationsMs,
    backups: [],
    uncovered: { tables: [], columns: [] },
    indexes: { created: [], rebuiltInvalid: [], temporaryDropped: [] },
    validation: { ok: false, failures: [], dangling: {} },
    linkedParents: 0,
    archivedBridgeRows: {},
  };
  let before: TargetFingerprint | null = null;
  let backups: BackupRecord[] = [];
  let guard: GuardHandle | null = null;

  const forward = async (): Promise<void> => {
    const pre = await phase('preflight', async () => {
      const p = await short.preflight({ source: cfg.source, target: cfg.target, expectDatabase: cfg.expectDatabase, dryRun: cfg.dryRun });
      if (!cfg.dryRun) before = await short.fingerprintTarget({ target: cfg.target, userId: cfg.userId });
      return p;
    });
    result.uncovered = { tables: pre.uncoveredTables, columns: pre.uncoveredColumns };
    totalSourceRows = TABLE_ORDER.reduce((n, t) => n + (pre.sourceRows[t] ?? 0), 0);
    progress.chunksTotal = TABLE_ORDER.reduce((n, t) => n + Math.ceil((pre.sourceRows[t] ?? 0) / cfg.chunkRows), 0);

    if (!cfg.dryRun) {
      backups = await phase('backup', async () => [
        await long.backupSource({ runId, source: cfg.source }),
        await long.backupTarget({ runId, target: cfg.target, serverMajor: pre.target!.serverMajor }),
      ]);
      result.backups = backups.map(({ backupId, kind, bytes, sha256, verified }) => ({ backupId, kind, bytes, sha256, verified }));
      await phase('schema', async () => {
        const existed = new Set(Object.keys(before!.tables));
        const ours = TABLE_ORDER.flatMap((t) => [`public.${MAPPINGS[t].targetTable}`, `public.${MAPPINGS[t].bridgeTable}`]).filter((t) => !existed.has(t));
        saga.push('releaseLease', () => compensation.releaseLease({ target: cfg.target, runId }));
        saga.push('dropCreatedTables', () => compensation.dropCreatedTables({ target: cfg.target, tables: ours, fail: cfg.faults?.failCompensation }));
        await short.ensureSchema({ target: cfg.target });
        loggingReady = true;
        await short.acquireLease({ target: cfg.target, runId, userId: cfg.userId });
        await short.recordBackups({ target: cfg.target, runId, userId: cfg.userId, backups });
        const baselineMs = await short.measureBaseline({ target: cfg.target, userId: cfg.userId, health: cfg.health });
        await log('health', 'info', `baseline latency ${baselineMs.toFixed(1)} ms`);
        guard = startHealthGuard({
          target: cfg.target,
          userId: cfg.userId,
          health: cfg.health,
          baselineMs,
          heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
          onReading: (r: HealthReading) => (progress.lastHealth = r),
        });
        void guard.triggered.then((reason) => {
          if (abortReason !== null) return;
          abortReason = `health trigger: ${reason}`;
          abortCause = 'health';
          mainScope.cancel();
        });
      });
      await phase('indexes', async () => {
        saga.push('dropRunIndexes', () => compensation.dropRunIndexes({ target: cfg.target, runId, fail: cfg.faults?.failCompensation }));
        for (const set of ['phase1', 'temporary'] as const) {
          const r = await long.buildIndexes({ target: cfg.target, runId, set });
          result.indexes.created.push(...r.created);
          result.indexes.rebuiltInvalid.push(...r.rebuiltInvalid);
        }
      });
    }

    await phase('transfer', async () => {
      if (!cfg.dryRun) saga.push('removeRunRows', () => compensation.removeRunRows({ target: cfg.target, runId, userId: cfg.userId, fail: cfg.faults?.failCompensation, delayMs: cfg.faults?.compensationDelayMs }));
      transferStarted = Date.now();
      for (const table of TABLE_ORDER) {
        progress.table = table;
        const started = Date.now();
        const failHere = cfg.faults?.failAfterChunks !== undefined && (!cfg.faults.failInTable || cfg.faults.failInTable === table);
        const sent = { paused: progress.paused, chunkRows: progress.chunkRows };
        const child = await startChild(transferTable, {
          workflowId: `${info.workflowId}/${runId}/${table}`,
          args: [
            {
              runId,
              table,
              source: cfg.source,
              target: cfg.target,
              keyring: cfg.keyring,
              userId: cfg.userId,
              asOfSeconds,
              dryRun: cfg.dryRun,
              chunkRows: sent.chunkRows,
              parallelism: cfg.parallelism,
              chunksPerExecution: cfg.chunksPerExecution,
              heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
              paused: sent.paused,
              ...(failHere ? { failAfterChunks: cfg.faults!.failAfterChunks } : {}),
            },
          ],
        });
        currentChild = child.workflowId;
        // Control changed while the child was starting: bring it up to date.
        if (sent.paused !== progress.paused || sent.chunkRows !== progress.chunkRows) await forwardControl();
        const totals = await child.result();
        currentChild = null;
        const report: TableReport = { ...totals, sourceRows: pre.sourceRows[table] ?? 0, durationMs: Date.now() - started };
        result.tables[table] = report;
        progress.tables[table] = report;
        const limit = Math.floor(report.sourceRows * cfg.quarantineThreshold);
        if (report.quarantined > limit) {
          throw ApplicationFailure.create({
            type: 'QuarantineThresholdExceeded',
            nonRetryable: true,
            message: `${table}: ${report.quarantined} of ${report.sourceRows} rows quarantined, above the threshold ${cfg.quarantineThreshold} (${limit} rows); see migration.migration_quarantine for run ${runId}`,
          });
        }
      }
      progress.table = null;
      if (!cfg.dryRun) result.linkedParents = (await long.linkTaskParents({ target: cfg.target, userId: cfg.userId, runId })).linked;
    });
    if (cfg.dryRun) return;

    await phase('validation', async () => {
      const checks: TableValidation[] = [];
      for (const table of TABLE_ORDER) {
        const t = result.tables[table]!;
        const check = await long.validateTable({
          runId,
          source: cfg.source,
          target: cfg.target,
          keyring: cfg.keyring,
          userId: cfg.userId,
          table,
          asOfSeconds,
          sampleSize: cfg.sampleSize,
          expected: { sourceRows: t.sourceRows, migrated: t.migrated, quarantined: t.quarantined, checksum: t.checksum },
        });
        checks.push(check);
        t.targetChecksum = check.targetChecksum;
        t.sampled = check.sampled;
      }
      const refs = await short.validateReferences({ target: cfg.target, userId: cfg.userId });
      result.validation = {
        ok: checks.every((c) => c.ok) && refs.ok,
        failures: [...checks.flatMap((c) => c.failures), ...Object.entries(refs.dangling).filter(([, n]) => n > 0).map(([r, n]) => `${n} dangling ${r}`)],
        dangling: refs.dangling,
      };
      if (!result.validation.ok) {
        throw ApplicationFailure.create({
          type: 'ValidationFailed',
          nonRetryable: true,
          message: `validation failed: ${result.validation.failures.slice(0, 5).join('; ')}`,
          details: [result.validation],
        });
      }
    });

    await phase('post-migration', async () => {
      const r = await long.buildIndexes({ target: cfg.target, runId, set: 'phase4' });
      result.indexes.created.push(...r.created);
      await short.analyzeTargets({ target: cfg.target });
      result.archivedBridgeRows = await short.archiveBridge({ target: cfg.target, userId: cfg.userId });
      result.indexes.temporaryDropped = await long.dropIndexes({ target: cfg.target, set: 'temporary' });
      await short.releaseLease({ target: cfg.target, runId });
    });
  };

  let failure: unknown = null;
  try {
    await mainScope.run(forward);
    if (guard && cfg.health.soakMs > 0) {
      progress.phase = 'soak';
      upsertSearchAttributes([{ key: MigrationPhase, value: 'soak' }]);
      const soakMainScope = mainScope; // an abort during the soak cancels this scope too
      await CancellationScope.cancellable(async () => {
        await Promise.race([sleep(cfg.health.soakMs), (guard as GuardHandle).triggered, soakMainScope.cancelRequested.catch(() => undefined)]);
      });
      if (abortReason !== null) throw ApplicationFailure.create({ type: 'Aborted', message: abortReason });
    }
  } catch (err) {
    failure = err;
  } finally {
    (guard as GuardHandle | null)?.stop();
  }

  if (failure === null) {
    progress.phase = 'completing'; // from here on an abort is refused: the run has passed every check
    const total = Object.values(result.tables).reduce((sum, t) => addChecksums(sum, t.checksum), '0000000000000000');
    await log('run', 'closed', `completed; ${TABLE_ORDER.map((t) => `${MAPPINGS[t].targetTable}=${result.tables[t]?.migrated ?? 0}`).join(' ')}; checksum ${total}`);
    progress.phase = cfg.dryRun ? 'dry-run' : 'completed';
    if (cfg.dryRun) result.validation.ok = TABLE_ORDER.every((t) => result.tables[t]!.read === result.tables[t]!.sourceRows);
    upsertSearchAttributes([
      { key: MigrationPhase, value: progress.phase },
      { key: MigrationStatus, value: progress.phase },
    ]);
    return result;
  }

  // ---- rollback ----
  const workflowCancelled = isCancellation(failure) && abortReason === null;
  if (workflowCancelled) {
    abortReason = 'workflow cancelled';
    abortCause = 'cancel';
  }
  const reason = abortReason ?? innermost(failure);
  if (cfg.dryRun || saga.size === 0 || before === null) {
    upsertSearchAttributes([{ key: MigrationStatus, value: 'failed' }]);
    // Nothing was changed in the target: nothing to roll back.
    if (workflowCancelled) throw failure;
    if (abortReason !== null) throw ApplicationFailure.create({ type: 'Aborted', nonRetryable: true, message: `${reason} (before any change to the target)` });
    throw failure;
  }
  const report = await CancellationScope.nonCancellable(() => rollback(reason));
  if (report.failed.length || !report.fingerprintEqual) {
    throw ApplicationFailure.create({
      type: 'ROLLBACK_FAILED',
      nonRetryable: true,
      message: `ROLLBACK_FAILED after "${reason}": ${[...report.failed.map((f) => `${f.step}: ${f.error}`), ...report.differences].slice(0, 5).join('; ')}. Remaining: ${report.remaining.join('; ') || 'see differences'}. Runbook: ${report.runbook.join(' && ')}`,
      details: [report],
    });
  }
  if (workflowCancelled) throw failure;
  throw ApplicationFailure.create({
    type: 'RolledBack',
    nonRetryable: true,
    message: `rolled back after ${abortCause === 'failure' ? 'failure' : abortCause}: ${reason}; target restored (fingerprint equal)`,
    details: [report],
  });

  async function rollback(why: string): Promise<RollbackReport> {
    progress.phase = 'rolling-back';
    progress.paused = false;
    upsertSearchAttributes([
      { key: MigrationPhase, value: 'rolling-back' },
      { key: MigrationStatus, value: 'rolling-back' },
    ]);
    const notifyDetails = { workflowId: info.workflowId, runId, userId: cfg.userId, target: cfg.target, reason: why, cause: abortCause };
    await compensation.notify({ webhookUrl: cfg.health.webhookUrl, event: 'rollback-started', details: notifyDetails }).catch(() => undefined);
    await log('rollback', 'started', why).catch(() => undefined);
    // Fence first: once the lease is released no late chunk of this run can commit.
    await compensation.releaseLease({ target: cfg.target, runId }).catch(() => undefined);
    const { compensated, failed } = await saga.unwind();
    let differences: string[];
    try {
      differences = diffFingerprints(before!, await compensation.fingerprintTarget({ target: cfg.target, userId: cfg.userId }));
    } catch (err) {
      failed.push({ step: 'fingerprintTarget', error: innermost(err) });
      differences = ['the target could not be fingerprinted after the rollback'];
    }
    // What this run recorded as its own and is still there (rows, indexes): must be nothing.
    // patched(): runs recorded before this check existed listed artifacts only after a failure.
    const listArtifacts = () => compensation.runArtifacts({ target: cfg.target, runId, userId: cfg.userId }).catch((e: Error) => [`(could not list: ${innermost(e)})`]);
    const alwaysList = patched('rollback-always-lists-artifacts');
    const remaining = alwaysList || failed.length > 0 || differences.length > 0 ? await listArtifacts() : [];
    const ok = failed.length === 0 && differences.length === 0 && remaining.length === 0;
    const targetBackup = backups.find((b) => b.kind === 'target-pg_dump');
    const database = String(targetBackup?.verification.database ?? '<database>');
    // First remove what the run left; restoring the pre-run dump is the last resort (it also undoes
    // everything other users' runs and the app wrote since the backup).
    const runbook = ok
      ? []
      : [
          `npx migrator runbook cancel-backends --target ${cfg.target} --expect-database ${database}`,
          `npx migrator runbook clean --target ${cfg.target} --run-id ${runId} --user-id ${cfg.userId} --expect-database ${database}`,
          `npx migrator runbook backups --target ${cfg.target}`,
          targetBackup
            ? `npx migrator runbook restore --target ${cfg.target} --backup-id ${targetBackup.backupId} --expect-database ${database}`
            : '(no target backup was taken)',
          `npx migrator runbook verify --target ${cfg.target} --backup-id ${targetBackup?.backupId ?? '<id>'}`,
        ];
    const report: RollbackReport = { reason: why, cause: abortCause, compensated, failed, fingerprintEqual: differences.length === 0 && remaining.length === 0, differences, remaining, runbook };
    progress.phase = ok ? 'rolled-back' : 'rollback-failed';
    upsertSearchAttributes([
      { key: MigrationPhase, value: progress.phase },
      { key: MigrationStatus, value: progress.phase },
    ]);
    await log('rollback', ok ? 'completed' : 'failed', ok ? `target fingerprint equal to pre-run (${compensated.join(', ')})` : `${failed.map((f) => f.step).join(', ')} failed; ${differences.length} difference(s)`).catch(
      () => undefined,
    );
    await compensation
      .notify({ webhookUrl: cfg.health.webhookUrl, event: ok ? 'rollback-succeeded' : 'rollback-failed', details: { ...notifyDetails, fingerprintEqual: report.fingerprintEqual, remaining } })
      .catch(() => undefined);
    return report;
  }
}
