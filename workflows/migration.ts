// migrationWorkflow: one user's source file into the target, phase by phase (DESIGN.md §1).
// Every phase is a durable step; the workflow holds ids, counts and checksums only.
import {
  ApplicationFailure,
  executeChild,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackupRecord, TableValidation } from '../activities';
import { addChecksums } from '../lib/checksum';
import { MigrationError } from '../lib/errors';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { parseMigrationInput, type MigrationConfig, type MigrationInput } from '../lib/input';
import { activitiesFor } from './activity-options';
import {
  progressQuery,
  tableProgressSignal,
  type MigrationProgress,
  type MigrationResult,
  type TableReport,
} from './definitions';
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
  const { short, long } = activitiesFor(cfg.heartbeatTimeoutMs);
  const progress: MigrationProgress = { runId, phase: 'starting', table: null, tables: {}, phaseDurationsMs: {} };
  setHandler(progressQuery, () => progress);
  setHandler(tableProgressSignal, ({ table, totals }) => {
    progress.tables[table] = { ...progress.tables[table], ...totals };
  });
  upsertSearchAttributes([
    { key: MigrationUser, value: cfg.userId.toLowerCase() },
    { key: MigrationTarget, value: cfg.target },
    { key: MigrationStatus, value: 'running' },
  ]);

  let loggingReady = false;
  const log = async (phase: string, status: 'started' | 'completed' | 'info' | 'closed', message = '') => {
    if (loggingReady) await short.logEvent({ target: cfg.target, runId, userId: cfg.userId, phase, status, message });
  };
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    progress.phase = name;
    upsertSearchAttributes([{ key: MigrationPhase, value: name }]);
    const started = Date.now();
    await log(name, 'started');
    const result = await body();
    progress.phaseDurationsMs[name] = Date.now() - started;
    await log(name, 'completed');
    return result;
  };

  const pre = await phase('preflight', () =>
    short.preflight({ source: cfg.source, target: cfg.target, expectDatabase: cfg.expectDatabase, dryRun: cfg.dryRun }),
  );
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
    uncovered: { tables: pre.uncoveredTables, columns: pre.uncoveredColumns },
    indexes: { created: [], rebuiltInvalid: [], temporaryDropped: [] },
    validation: { ok: false, failures: [], dangling: {} },
    linkedParents: 0,
    archivedBridgeRows: {},
  };

  if (!cfg.dryRun) {
    const backups: BackupRecord[] = await phase('backup', async () => [
      await long.backupSource({ runId, source: cfg.source }),
      await long.backupTarget({ runId, target: cfg.target, serverMajor: pre.target!.serverMajor }),
    ]);
    result.backups = backups.map(({ backupId, kind, bytes, sha256, verified }) => ({ backupId, kind, bytes, sha256, verified }));
    await phase('schema', async () => {
      await short.ensureSchema({ target: cfg.target });
      loggingReady = true;
      await short.recordBackups({ target: cfg.target, runId, userId: cfg.userId, backups });
    });
    await phase('indexes', async () => {
      for (const set of ['phase1', 'temporary'] as const) {
        const r = await long.buildIndexes({ target: cfg.target, runId, set });
        result.indexes.created.push(...r.created);
        result.indexes.rebuiltInvalid.push(...r.rebuiltInvalid);
      }
    });
  }

  await phase('transfer', async () => {
    for (const table of TABLE_ORDER) {
      progress.table = table;
      const started = Date.now();
      const totals = await executeChild(transferTable, {
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
            chunkRows: cfg.chunkRows,
            parallelism: cfg.parallelism,
            chunksPerExecution: cfg.chunksPerExecution,
            heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
          },
        ],
      });
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
    if (!cfg.dryRun) result.linkedParents = (await long.linkTaskParents({ target: cfg.target, userId: cfg.userId })).linked;
  });

  if (cfg.dryRun) {
    result.validation.ok = TABLE_ORDER.every((t) => result.tables[t]!.read === result.tables[t]!.sourceRows);
    upsertSearchAttributes([{ key: MigrationStatus, value: 'dry-run' }]);
    return result;
  }

  await phase('validation', async () => {
    const checks: TableValidation[] = [];
    for (const table of TABLE_ORDER) {
      const t = result.tables[table]!;
      checks.push(
        await long.validateTable({
          runId,
          source: cfg.source,
          target: cfg.target,
          keyring: cfg.keyring,
          userId: cfg.userId,
          table,
          asOfSeconds,
          sampleSize: cfg.sampleSize,
          expected: { sourceRows: t.sourceRows, migrated: t.migrated, quarantined: t.quarantined, checksum: t.checksum },
        }),
      );
      t.targetChecksum = checks[checks.length - 1]!.targetChecksum;
      t.sampled = checks[checks.length - 1]!.sampled;
    }
    const refs = await short.validateReferences({ target: cfg.target, userId: cfg.userId });
    result.validation = {
      ok: checks.every((c) => c.ok) && refs.ok,
      failures: [...checks.flatMap((c) => c.failures), ...Object.entries(refs.dangling).filter(([, n]) => n > 0).map(([r, n]) => `${n} dangling ${r}`)],
      dangling: refs.dangling,
    };
    if (!result.validation.ok) {
      upsertSearchAttributes([{ key: MigrationStatus, value: 'validation-failed' }]);
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
  });
  const total = Object.values(result.tables).reduce((sum, t) => addChecksums(sum, t.checksum), '0000000000000000');
  await log('run', 'closed', `completed; ${TABLE_ORDER.map((t) => `${MAPPINGS[t].targetTable}=${result.tables[t]!.migrated}`).join(' ')}; checksum ${total}`);
  progress.phase = 'completed';
  upsertSearchAttributes([
    { key: MigrationPhase, value: 'completed' },
    { key: MigrationStatus, value: 'completed' },
  ]);
  return result;
}
