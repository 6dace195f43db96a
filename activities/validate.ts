// Validation — per table: source rows = migrated + quarantined; the whole-table checksum of the
// canonical values re-read (and decrypted) from the target equals the one computed from the
// source during transfer; a random sample deep-compared field by field (timestamps within 1 s,
// everything else exact); and no dangling references. Returns failures as text without values.
import { existsSync } from 'node:fs';
import { heartbeat } from '@temporalio/activity';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
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
  sampled: number;
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

      // Whole-table checksum over the target, decrypting every encrypted column.
      const acc = new ChecksumAccumulator();
      const schema = quoteIdent(deps.schema(input.target));
      const vars = { schema, table: mapping.targetTable, bridge: mapping.bridgeTable, key: mapping.targetKeyColumn };
      let after: string | null = null;
      let undecryptable = 0;
      for (;;) {
        const { rows }: { rows: Record<string, unknown>[] } = await pool.query(
          sqlFile('queries/select_target_page.sql', vars),
          [input.userId, after, PAGE_ROWS],
        );
        for (const row of rows as Record<string, unknown>[]) {
          try {
            acc.add(canonicalJson(mapping.decode(row, sealer)));
          } catch {
            undecryptable++;
          }
        }
        heartbeat({ table: input.table, rows: acc.count });
        if (rows.length < PAGE_ROWS) break;
        after = String((rows[rows.length - 1] as Record<string, unknown>)[vars.key]);
      }
      if (undecryptable)
        failures.push(`${input.table}: ${undecryptable} target rows do not decrypt with the user's key`);
      if (acc.count !== migrated)
        failures.push(`${input.table}: target holds ${acc.count} migrated rows, transfer reported ${migrated}`);
      if (acc.hex() !== checksum)
        failures.push(`${input.table}: target checksum ${acc.hex()} != source checksum ${checksum}`);

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
        targetRows: acc.count,
        targetChecksum: acc.hex(),
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
