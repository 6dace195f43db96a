// Validation — per table: source rows = migrated + quarantined; the digest PostgreSQL computes over
// the user's target rows equals the one the chunks recorded as they wrote them (activities/row-digest.ts;
// online runs decrypt every row instead), and the ledger's source checksums add up to
// the transfer's; a random sample decrypted and deep-compared field by field (timestamps within 1 s,
// everything else exact); and no dangling references. Without recorded digests (chunks of an older
// build) every target row is re-read and decrypted as before. Returns failures as text without values.
import { existsSync } from 'node:fs';
import { heartbeat } from '@temporalio/activity';
import type pg from 'pg';
import { addChecksums, canonicalJson, ChecksumAccumulator, EMPTY_CHECKSUM } from '../lib/checksum';
import { addDigests } from './row-digest';
import type { Sealer, TableMapping } from '../lib/mapping/types';
import { TIMESTAMP_TOLERANCE_MS } from '../lib/defaults';
import { mappingFor } from '../lib/mapping';
import { quoteIdent, sqlFile } from '../infra/sql-files';
import { freezeCopyPath } from './capture';
import type { ActivityDeps } from './deps';
import { prepareRows, targetRefLookup } from './prepare-rows';
import { withSourceAsync } from './source';

const PAGE_ROWS = 2000;

export interface ValidateTableInput {
  runId: string;
  source: string;
  target: string;
  keyring: string;
  userId: string;
  table: string;
  asOfSeconds: number;
  sampleSize: number;
  expected: { sourceRows: number; migrated: number; quarantined: number; checksum: string };
  /** Online runs: the sample leaves out rows the source's change log shows changed after this sequence. */
  changedAfterSeq?: number;
}

export interface TableValidation {
  table: string;
  ok: boolean;
  failures: string[];
  targetRows: number;
  targetChecksum: string;
  /** The digest of the target rows PostgreSQL computed (absent when every row was decrypted instead). */
  targetDigest?: string;
  sampled: number;
}

/**
 * The digest and row count the writes recorded for this table, or null when validation must decrypt
 * every row instead: chunks from a build that recorded no digest, or an online run. Offline, the
 * ledger's source checksums and counts are also compared with what
 * the transfer reported (cheap: no row is read).
 */
async function expectedDigest(
  pool: pg.Pool,
  input: ValidateTableInput,
  online: boolean,
  failures: string[],
): Promise<{ digest: string; rows: number; checksum: string | null } | null> {
  // A control schema from a build without digests (the run's schema phase ran on it): decrypt instead.
  if (!(await pool.query<{ ready: boolean }>(sqlFile('queries/ledger_has_digest.sql'))).rows[0]!.ready) return null;
  // Online runs: the delta passes and the cut-over re-encrypt and delete rows after their chunks
  // recorded digests; validation decrypts every row and compares it with the checksum computed from
  // the source copy taken under the cut-over's lock (the full check, not a digest of the target alone).
  if (online) return null;
  const { rows } = await pool.query<{
    chunks: number;
    undigested: number;
    migrated: string;
    digest: string;
    checksums: string[];
  }>(sqlFile('queries/ledger_digest.sql'), [input.runId, input.table]);
  const l = rows[0]!;
  if (l.undigested > 0) return null;
  const checksum = l.checksums.reduce((sum, c) => addChecksums(sum, c), EMPTY_CHECKSUM);
  if (checksum !== input.expected.checksum)
    failures.push(`${input.table}: chunk ledger checksum ${checksum} != transfer checksum ${input.expected.checksum}`);
  if (Number(l.migrated) !== input.expected.migrated)
    failures.push(
      `${input.table}: chunk ledger records ${l.migrated} migrated rows, transfer reported ${input.expected.migrated}`,
    );
  return { digest: addDigests(l.digest), rows: Number(l.migrated), checksum };
}

/** The previous whole-table check: every target row re-read and decrypted, its canonical checksum. */
async function decryptAll(
  pool: pg.Pool,
  mapping: TableMapping,
  sealer: Sealer,
  input: ValidateTableInput,
  vars: Record<string, string>,
): Promise<{ count: number; checksum: string; undecryptable: number }> {
  const acc = new ChecksumAccumulator();
  let after: string | null = null;
  let undecryptable = 0;
  for (;;) {
    const { rows }: { rows: Record<string, unknown>[] } = await pool.query(
      sqlFile('queries/select_target_page.sql', vars),
      [input.userId, after, PAGE_ROWS],
    );
    for (const row of rows) {
      try {
        acc.add(canonicalJson(mapping.decode(row, sealer)));
      } catch {
        undecryptable++;
      }
    }
    heartbeat({ table: input.table, rows: acc.count });
    if (rows.length < PAGE_ROWS) break;
    after = String(rows[rows.length - 1]![vars.key!]);
  }
  return { count: acc.count, checksum: acc.hex(), undecryptable };
}

export function createValidateActivities(deps: ActivityDeps) {
  return {
    async validateTable(input: ValidateTableInput): Promise<TableValidation> {
      const mapping = mappingFor(input.table);
      const sealer = deps.sealer(input.keyring, input.userId);
      const pool = deps.pool(input.target);
      const failures: string[] = [];
      const { sourceRows, migrated, quarantined, checksum } = input.expected;
      if (sourceRows !== migrated + quarantined) {
        failures.push(
          `${input.table}: source has ${sourceRows} rows but ${migrated} migrated + ${quarantined} quarantined`,
        );
      }

      const schema = quoteIdent(deps.schema(input.target));
      const vars = { schema, table: mapping.targetTable, bridge: mapping.bridgeTable, key: mapping.targetKeyColumn };
      const online = input.changedAfterSeq !== undefined;
      const expected = await expectedDigest(pool, input, online, failures);
      let targetRows: number;
      let targetChecksum: string;
      let targetDigest: string | undefined;
      if (expected) {
        // PostgreSQL digests the user's target rows (one aggregate); equal to what the writes recorded
        // means no row changed, went missing or appeared since. The checksum the target carries is
        // then the source checksum the ledger recorded with those rows.
        const { rows } = await pool.query<{ n: number; digest: string }>(
          sqlFile(`queries/digest_${mapping.targetTable}.sql`, vars),
          [input.userId, null],
        );
        targetRows = rows[0]!.n;
        targetDigest = addDigests(rows[0]!.digest);
        targetChecksum = expected.checksum ?? checksum;
        if (targetRows !== migrated)
          failures.push(`${input.table}: target holds ${targetRows} migrated rows, transfer reported ${migrated}`);
        if (targetRows !== expected.rows)
          failures.push(
            `${input.table}: target holds ${targetRows} migrated rows, the writes recorded ${expected.rows}`,
          );
        if (targetDigest !== expected.digest)
          failures.push(
            `${input.table}: target rows digest ${targetDigest} != ${expected.digest} recorded when they were written (a target row changed, went missing or appeared)`,
          );
      } else {
        const all = await decryptAll(pool, mapping, sealer, input, vars);
        targetRows = all.count;
        targetChecksum = all.checksum;
        if (all.undecryptable)
          failures.push(`${input.table}: ${all.undecryptable} target rows do not decrypt with the user's key`);
        if (all.count !== migrated)
          failures.push(`${input.table}: target holds ${all.count} migrated rows, transfer reported ${migrated}`);
        if (all.checksum !== checksum)
          failures.push(`${input.table}: target checksum ${all.checksum} != source checksum ${checksum}`);
      }

      // Random sample, compared field by field.
      let sampled = 0;
      if (input.sampleSize > 0) {
        const client = await pool.connect();
        try {
          // Online runs sample the source as it was at the freeze (the cut-over's copy) when this worker
          // has it: the live source has moved on, in the sampled rows or in rows they reference.
          const live = deps.capabilities.sourcePath(input.source, 'source');
          const frozen = input.changedAfterSeq === undefined ? null : freezeCopyPath(deps, input.runId);
          await withSourceAsync(frozen && existsSync(frozen) ? frozen : live, async (db) => {
            let sample = db
              .prepare(`SELECT ${mapping.selectList} FROM ${mapping.sourceTable} ORDER BY random() LIMIT ?`)
              .all(input.sampleSize) as Record<string, unknown>[];
            if (input.changedAfterSeq !== undefined) {
              // Read after the sample: any change to a sampled row is in the log by now.
              const changed = new Set(
                (
                  db
                    .prepare(sqlFile('source/capture_changed_keys.sql'))
                    .all({ tbl: mapping.sourceTable, after: input.changedAfterSeq }) as { k: string }[]
                ).map((r) => r.k),
              );
              sample = sample.filter((r) => !changed.has(String(r[mapping.keyColumn])));
            }
            const prepared = await prepareRows(
              db,
              mapping,
              sample,
              { userId: input.userId, asOfSeconds: input.asOfSeconds },
              targetRefLookup(client, schema, input.userId),
            );
            // Rows the target itself refused at write time are quarantined too, not missing.
            const refused = new Set(
              (
                await client.query<{ local_id: string }>(sqlFile('queries/bridge_quarantined.sql', vars), [
                  input.userId,
                  prepared.ok.map((r) => r.sourceId),
                ])
              ).rows.map((r) => r.local_id),
            );
            prepared.rejected.push(
              ...prepared.ok
                .filter((r) => refused.has(r.sourceId))
                .map((r) => ({ sourceId: r.sourceId, targetId: r.targetId, reason: 'REFUSED_AT_WRITE', detail: '' })),
            );
            prepared.ok = prepared.ok.filter((r) => !refused.has(r.sourceId));
            const ids = prepared.ok.map((r) => r.targetId);
            const { rows } = await client.query(sqlFile('queries/select_target_rows.sql', vars), [ids, input.userId]);
            const byId = new Map((rows as Record<string, unknown>[]).map((r) => [String(r[vars.key]), r]));
            for (const expected of prepared.ok) {
              sampled++;
              const row = byId.get(expected.targetId);
              if (!row) {
                failures.push(`${input.table}: sampled source row ${expected.sourceId} is missing from the target`);
                continue;
              }
              // A row that does not decode is a validation failure, not an activity error (which
              // would be retried as if transient and then fail the run without naming the row).
              let actual: Record<string, unknown>;
              try {
                actual = mapping.decode(row, sealer);
              } catch {
                failures.push(`${input.table}: sampled row ${expected.sourceId} does not decrypt`);
                continue;
              }
              for (const [field, want] of Object.entries(expected.canonical)) {
                const got = actual[field];
                const timeField = (mapping.timeFields as readonly string[]).includes(field);
                const equal =
                  timeField && typeof want === 'number' && typeof got === 'number'
                    ? Math.abs(want - got) <= TIMESTAMP_TOLERANCE_MS
                    : canonicalJson(want) === canonicalJson(got);
                if (!equal) failures.push(`${input.table}: sampled row ${expected.sourceId} differs in ${field}`);
              }
            }
            const { rows: q } = await client.query<{ source_id: string }>(sqlFile('queries/select_quarantined.sql'), [
              input.userId,
              input.table,
              prepared.rejected.map((r) => r.sourceId),
            ]);
            const inQuarantine = new Set(q.map((r) => r.source_id));
            for (const r of prepared.rejected) {
              sampled++;
              if (!inQuarantine.has(r.sourceId))
                failures.push(
                  `${input.table}: sampled row ${r.sourceId} (${r.reason}) is neither migrated nor quarantined`,
                );
            }
          });
        } finally {
          client.release();
        }
      }
      return {
        table: input.table,
        ok: failures.length === 0,
        failures: failures.slice(0, 50),
        targetRows,
        targetChecksum,
        ...(targetDigest === undefined ? {} : { targetDigest }),
        sampled,
      };
    },

    async validateReferences(input: {
      target: string;
      userId: string;
    }): Promise<{ ok: boolean; dangling: Record<string, number> }> {
      const { rows } = await deps
        .pool(input.target)
        .query<{ ref: string; n: number }>(
          sqlFile('queries/dangling_refs.sql', { schema: quoteIdent(deps.schema(input.target)) }),
          [input.userId],
        );
      const dangling = Object.fromEntries(rows.map((r) => [r.ref, Number(r.n)]));
      return { ok: rows.every((r) => Number(r.n) === 0), dangling };
    },
  };
}
