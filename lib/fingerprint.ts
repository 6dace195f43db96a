// Target fingerprints (row counts, checksums, index list) and their comparison: the proof that a
// rollback restored the target exactly. Pure, so the workflow can compare without an activity.

export type Fingerprint = Record<string, { rows: number; checksum: string }>;

export interface TargetFingerprint {
  tables: Fingerprint;
  indexes: { name: string; def: string; valid: boolean }[];
}

/** Human-readable differences (empty when equal). */
export function diffFingerprints(before: TargetFingerprint, after: TargetFingerprint): string[] {
  const diffs: string[] = [];
  for (const t of new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])) {
    const a = before.tables[t];
    const b = after.tables[t];
    if (!a) diffs.push(`table ${t} exists now but did not before`);
    else if (!b) diffs.push(`table ${t} existed before but is gone`);
    else if (a.rows !== b.rows || a.checksum !== b.checksum) diffs.push(`table ${t}: ${a.rows} rows/${a.checksum} before, ${b.rows} rows/${b.checksum} after`);
  }
  const key = (i: { def: string; valid: boolean }) => `${i.def} (valid=${i.valid})`;
  const beforeIdx = new Set(before.indexes.map(key));
  const afterIdx = new Set(after.indexes.map(key));
  for (const i of beforeIdx) if (!afterIdx.has(i)) diffs.push(`index missing: ${i}`);
  for (const i of afterIdx) if (!beforeIdx.has(i)) diffs.push(`index added: ${i}`);
  return diffs;
}
