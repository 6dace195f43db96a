// `migrator backups …`: the target's backups — list (default), prune (retention), and
// restore-pre-image (one user's rows back as the run's pre-image holds them). Runs on the
// operator's side, with the runbook's target resolution (a worker-config name or env:NAME).
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type pg from 'pg';
import { restorePreImage } from '../../activities/pre-image';
import { DEFAULT_BACKUP_DIR } from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { sqlFile } from '../../infra/sql-files';

export interface PruneOptions {
  /** Newest verified full backups always kept (at least 1: the only one is never deleted). */
  keepFull: number;
  /** Only backups older than this many hours are deleted. */
  olderThanHours: number;
  /** The backup directory the files must lie in (anything recorded elsewhere is refused). */
  backupDir: string;
  dryRun: boolean;
}

export interface PruneEntry {
  backupId: string;
  kind: string;
  location: string;
  reason: string;
}

export interface PruneReport {
  dryRun: boolean;
  deleted: PruneEntry[];
  kept: PruneEntry[];
}

interface Candidate {
  backup_id: string;
  run_id: string;
  kind: string;
  location: string;
  source: 'full' | 'inventory';
  at: Date;
  age_hours: number;
  /** Per-run backups: 'completed' | 'rolled-back' | 'rollback-failed' | 'not-finished'. */
  run_state: string;
  /** A pre-image's: the full backup its run relied on. */
  full_backup_id: string | null;
}

/** A bad option value is a usage error (exit 2, commander names the option). */
const usage =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

function keepFull(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidInputError('--keep-full', 'must be an integer ≥ 1: the newest full backup is never deleted');
  return n;
}

/** '7d', '36h' → hours. */
export function parseAge(text: string, field = '--older-than'): number {
  const m = /^(\d+(?:\.\d+)?)([hd])$/.exec(text.trim());
  if (!m) throw new InvalidInputError(field, `expected a duration like 36h or 7d, got ${JSON.stringify(text)}`);
  return Number(m[1]) * (m[2] === 'd' ? 24 : 1);
}

function inside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** What a backup's row points at on disk: a pre-image is its whole directory, others one file. */
function filesOf(c: { kind: string; location: string }): string {
  return c.kind === 'target-pre-image' ? dirname(c.location) : c.location;
}

/**
 * Applies the retention policy: full backups beyond the `keepFull` newest and older than the age
 * limit that no unfinished run relies on; per-run backups (source copies, pre-images) older than it whose run finished (completed
 * after its soak, or rolled back cleanly). Never the only verified full backup, never a backup of
 * a run that is not finished or whose rollback failed. Deletes the files and marks the rows.
 */
export async function pruneBackups(client: pg.ClientBase, options: PruneOptions): Promise<PruneReport> {
  if (!Number.isInteger(options.keepFull) || options.keepFull < 1)
    throw new InvalidInputError('--keep-full', 'must be an integer ≥ 1: the newest full backup is never deleted');
  const { rows } = await client.query<Candidate>(sqlFile('queries/prune_candidates.sql'));
  const report: PruneReport = { dryRun: options.dryRun, deleted: [], kept: [] };
  const keep = (c: Candidate, reason: string) =>
    report.kept.push({ backupId: c.backup_id, kind: c.kind, location: c.location, reason });
  const full = rows.filter((c) => c.kind === 'target-pg_dump').sort((a, b) => b.at.getTime() - a.at.getTime());
  const perRun = rows.filter((c) => c.kind !== 'target-pg_dump');
  const doomed: Candidate[] = [];
  // A full backup a run still relies on (unfinished, or its rollback failed) stays with it.
  const reliedOn = new Set(
    perRun
      .filter((c) => c.full_backup_id && c.run_state !== 'completed' && c.run_state !== 'rolled-back')
      .map((c) => c.full_backup_id),
  );
  full.forEach((c, i) => {
    if (i < options.keepFull) keep(c, `one of the ${options.keepFull} newest full backups`);
    else if (reliedOn.has(c.backup_id)) keep(c, 'a run that is not finished (or whose rollback failed) relies on it');
    else if (c.age_hours < options.olderThanHours) keep(c, `younger than ${options.olderThanHours} h`);
    else doomed.push(c);
  });
  for (const c of perRun) {
    if (c.run_state === 'rollback-failed') keep(c, 'its run’s rollback failed: kept for the runbook');
    else if (c.run_state === 'not-finished') keep(c, 'its run is not finished');
    else if (c.age_hours < options.olderThanHours) keep(c, `younger than ${options.olderThanHours} h`);
    else doomed.push(c);
  }
  for (const c of doomed) {
    const path = filesOf(c);
    if (!inside(options.backupDir, path)) {
      keep(c, `recorded outside the backup directory ${options.backupDir}: refusing to delete`);
      continue;
    }
    const entry = {
      backupId: c.backup_id,
      kind: c.kind,
      location: c.location,
      reason: c.kind === 'target-pg_dump' ? 'older full backup' : `run ${c.run_state}`,
    };
    if (!options.dryRun) {
      rmSync(path, { recursive: true, force: true });
      await client.query(
        sqlFile(c.source === 'full' ? 'queries/prune_mark_full.sql' : 'queries/prune_mark_inventory.sql'),
        [c.backup_id],
      );
      // The run's directory goes once the last of its files did.
      const runDir = c.kind === 'target-pre-image' ? dirname(path) : dirname(c.location);
      if (inside(options.backupDir, runDir) && existsSync(runDir) && readdirSync(runDir).length === 0)
        rmdirSync(runDir);
    }
    report.deleted.push(entry);
  }
  return report;
}

/** Sizes of what a report deletes (for the human summary; files already gone count 0). */
function sizeOf(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(`${path}/${f}`), 0);
}

interface Runbook {
  withClient<T>(target: string, fn: (c: pg.Client) => Promise<T>): Promise<T>;
  assertDatabase(client: pg.Client, expected: string): Promise<void>;
  print(rows: unknown[], json?: boolean): void;
}

/** `backups prune` and `backups restore-pre-image` under the `backups` command. */
export function registerBackupCommands(backups: Command, runbook: Runbook): void {
  backups
    .command('prune')
    .description(
      'retention: delete full backups beyond the newest --keep-full and older than --older-than, and per-run backups (source copies, pre-images) older than it whose run completed or rolled back; never the only full backup, never a backup of an unfinished run or of one whose rollback failed',
    )
    .requiredOption('--target <name|env:NAME>', 'a target of the worker config ($MIGRATOR_WORKER_CONFIG) or env:NAME')
    .option('--keep-full <n>', 'newest full backups always kept (≥ 1)', usage(keepFull), 2)
    .option('--older-than <age>', 'delete only backups older than this (36h, 7d)', usage(parseAge), 7 * 24)
    .option('--backup-dir <dir>', 'the backup directory (files recorded outside it are never deleted)')
    .option('--expect-database <name>', 'refuse unless the target is this database (required unless --dry-run)')
    .option('--dry-run', 'list what would be deleted and what is kept, change nothing')
    .option('--json', 'JSON output')
    .action(
      async (o: {
        target: string;
        keepFull: number;
        olderThan: number;
        backupDir?: string;
        expectDatabase?: string;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        if (!o.dryRun && !o.expectDatabase)
          throw new InvalidInputError('--expect-database', 'required to delete (or pass --dry-run to list)');
        const options: PruneOptions = {
          keepFull: o.keepFull,
          olderThanHours: o.olderThan,
          backupDir: resolve(o.backupDir ?? process.env.MIGRATOR_BACKUP_DIR ?? DEFAULT_BACKUP_DIR),
          dryRun: Boolean(o.dryRun),
        };
        const report = await runbook.withClient(o.target, async (c) => {
          if (o.expectDatabase) await runbook.assertDatabase(c, o.expectDatabase);
          return pruneBackups(c, options);
        });
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else {
          const verb = report.dryRun ? 'would delete' : 'deleted';
          console.log(`${verb} ${report.deleted.length} backup(s):`);
          runbook.print(
            report.deleted.map((d) => ({ ...d, location: basename(d.location), bytes: sizeOf(filesOf(d)) })),
          );
          console.log(`kept ${report.kept.length}:`);
          runbook.print(report.kept.map((k) => ({ backupId: k.backupId, kind: k.kind, reason: k.reason })));
        }
      },
    );

  backups
    .command('restore-pre-image')
    .description(
      "put one user's rows back as a run's pre-image holds them: in one transaction, deletes that user's rows (user_id = the run's user) of the mapped and bridge tables and copies the pre-image's rows in, then checks each table's fingerprint; touches no other user's rows and no other table",
    )
    .requiredOption('--target <name|env:NAME>', 'a target of the worker config ($MIGRATOR_WORKER_CONFIG) or env:NAME')
    .requiredOption('--run-id <id>', 'the run whose pre-image to restore (first execution run id)')
    .requiredOption('--expect-database <name>', 'refuse unless the target is this database')
    .option('--json', 'JSON output')
    .action(async (o: { target: string; runId: string; expectDatabase: string; json?: boolean }) => {
      const result = await runbook.withClient(o.target, async (c) => {
        await runbook.assertDatabase(c, o.expectDatabase);
        return restorePreImageOf(c, o.runId);
      });
      if (o.json) console.log(JSON.stringify(result, null, 2));
      else {
        console.log(`restored the pre-image of run ${result.runId} (user ${result.userId}):`);
        runbook.print(result.tables);
      }
    });
}

/** Restores run `runId`'s recorded pre-image (activities/pre-image.ts restorePreImage). */
export async function restorePreImageOf(client: pg.ClientBase, runId: string) {
  const { rows } = await client.query<{ kind: string; location: string; sha256: string; pruned_at: Date | null }>(
    sqlFile('queries/select_backup.sql'),
    [`${runId}:pre-image`],
  );
  const b = rows[0];
  if (!b) throw new Error(`no pre-image of run ${runId} in migration.backup_inventory (see: migrator backups)`);
  if (b.pruned_at) throw new Error(`the pre-image of run ${runId} was pruned on ${b.pruned_at.toISOString()}`);
  return restorePreImage(client, b.location, b.sha256);
}
