// capture (online runs only): install the source's change capture (a log table and triggers on the
// mapped tables) before the bulk copy, and record the log's sequence the copy starts at. Its
// compensation removes them, so an abort or a rollback leaves the source as the app expects;
// release-capture removes them once validation passed, so a completed run does too.
import { ApplicationFailure } from '@temporalio/workflow';
import type { Phase } from './phase';

export const capturePhase: Phase = {
  name: 'capture',
  inDryRun: false,
  undo: ({ run, acts }) => [
    {
      name: 'removeCapture',
      run: () => acts.compensations.removeCapture({ runId: run.runId, source: run.cfg.source }),
    },
  ],
  undoneBy: 'removeCapture (the triggers, then the log table; nothing else in the source changes)',
  proves: 'every change the app makes to a mapped table from here on is in the log, after startSeq',
  async step({ run, acts }) {
    const installed = await acts.bookkeeping.installCapture({ runId: run.runId, source: run.cfg.source });
    run.online = {
      startSeq: installed.startSeq,
      lastSeq: installed.startSeq,
      passes: 0,
      changesApplied: 0,
      freezeMs: null,
      freezeDrainMs: null,
      freezeStartedAtMs: null,
      freezeEndedAtMs: null,
      schemaDigestBefore: installed.schemaDigest,
      schemaDigestAfter: null,
    };
    run.result.online = run.online;
  },
};

export const releaseCapturePhase: Phase = {
  name: 'release-capture',
  inDryRun: false,
  undo: () => [],
  undoneBy: "nothing to undo: it only removes the capture (capture's removeCapture stays on the saga)",
  proves: 'the source holds no trigger or log table of the migrator; its schema digest equals the pre-install one',
  async step({ run, acts }) {
    const removed = await acts.bookkeeping.removeCapture({ runId: run.runId, source: run.cfg.source });
    if (run.online) run.online.schemaDigestAfter = removed.schemaDigest;
    if (removed.remaining.length)
      throw ApplicationFailure.create({
        type: 'CaptureNotRemoved',
        nonRetryable: true,
        message: `capture objects left in the source: ${removed.remaining.join(', ')}`,
      });
  },
};
