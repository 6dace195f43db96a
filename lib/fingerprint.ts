// Target fingerprints (row counts, checksums, index list) and their comparison: the proof that a
// rollback restored the target exactly. Pure, so the workflow can compare without an activity.

export type Fingerprint = Record<string, { rows: number; checksum: string }>;

/**
 * The mapped target tables and their bridge tables, over the run's user's rows only (a shared
 * target: other users' runs and the app write other rows and other tables meanwhile). Indexes are
 * listed with `ours` = built by this project (their removal is proven by the run's own records).
 */
export interface TargetFingerprint {
  tables: Fingerprint;
  indexes: { name: string; def: string; valid: boolean; ours: boolean }[];
}

/** Human-readable differences (empty when equal). */
export function diffFingerprints(before: TargetFingerprint, after: TargetFingerprint): string[] {
  const diffs: string[] = [];
  for (const t of new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])) {
    const a = before.tables[t];
    const b = after.tables[t];
    // A table created meanwhile that holds none of this user's rows (another user's run created it) is not ours.
    if (!a && b && b.rows === 0) continue;
    if (!a) diffs.push(`table ${t} exists now but did not before`);
    else if (!b) diffs.push(`table ${t} existed before but is gone`);
    else if (a.rows !== b.rows || a.checksum !== b.checksum)
      diffs.push(`table ${t}: ${a.rows} rows/${a.checksum} before, ${b.rows} rows/${b.checksum} after`);
  }
  // None of the app's indexes may be gone (the app may add its own meanwhile: not the run's business);
  // ours may be kept by other users' runs, but never INVALID.
  const key = (i: { def: string; valid: boolean }) => `${i.def} (valid=${i.valid})`;
  const beforeIdx = new Set(before.indexes.filter((i) => !i.ours).map(key));
  const afterIdx = new Set(after.indexes.filter((i) => !i.ours).map(key));
  for (const i of after.indexes) if (i.ours && !i.valid) diffs.push(`INVALID index left: ${i.name}`);
  for (const i of beforeIdx) if (!afterIdx.has(i)) diffs.push(`index missing: ${i}`);
  return diffs;
}
