// preflight: both sides reachable, the source sound and covered by the mapping, the target the
// intended database; then the target's fingerprint, the proof a rollback is measured against.
import { TABLE_ORDER } from '../../lib/mapping';
import type { Phase } from './phase';

export const preflightPhase: Phase = {
  name: 'preflight',
  inDryRun: true,
  undo: () => [],
  undoneBy: 'nothing to undo: reads only',
  proves:
    "the source passes integrity_check and the Drift v12 schema check; the target is the expected database; the key and the source file are shown to be the user's (or the file is unmarked and the operator overrode); its pre-run fingerprint is recorded",
  async step({ run, acts }) {
    const { cfg } = run;
    // Every capability the run names is checked against the worker's config here, before anything else.
    const pre = await acts.bookkeeping.preflight({
      source: cfg.source,
      target: cfg.target,
      expectDatabase: cfg.expectDatabase,
      dryRun: cfg.dryRun,
      keyring: cfg.keyring,
      userId: cfg.userId,
      sourceOwnershipUnverified: cfg.sourceOwnershipUnverified,
      health: { sources: cfg.health.sources, ...(cfg.health.webhook ? { webhook: cfg.health.webhook } : {}) },
      // Only online runs carry the key, so offline runs' activity input is as it always was.
      ...(cfg.online.enabled && cfg.online.cutover.freezeHook ? { freezeHook: cfg.online.cutover.freezeHook } : {}),
      ...(cfg.online.enabled && cfg.online.cutover.switchHook ? { switchHook: cfg.online.cutover.switchHook } : {}),
    });
    if (!cfg.dryRun) run.before = await acts.bookkeeping.fingerprintTarget({ target: cfg.target, userId: cfg.userId });
    run.preflight = pre;
    // An unverified source is visible on the run itself (listing, UI), not only in the target's log:
    // the driver upserts the memo after the step (workflows/migration.ts runPhase).
    if (pre.ownership?.source === 'unverified-override')
      run.pendingMemo = { sourceOwnershipUnverified: true, sourceOwnershipOverriddenBy: pre.ownership.overriddenBy };
    run.result.uncovered = { tables: pre.uncoveredTables, columns: pre.uncoveredColumns };
    run.totalSourceRows = TABLE_ORDER.reduce((n, t) => n + (pre.sourceRows[t] ?? 0), 0);
    run.progress.chunksTotal = TABLE_ORDER.reduce((n, t) => n + Math.ceil((pre.sourceRows[t] ?? 0) / cfg.chunkRows), 0);
  },
};
