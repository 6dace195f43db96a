// The rollback proof is scoped to what the run touched. On a live database the app keeps writing
// tables without a user_id (sessions, job queues, audit logs), other users keep writing the mapped
// tables, and the app may add an index of its own: none of that is the run's business, so a
// rollback still ends RolledBack (fingerprint equal), and the app's writes survive it.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { beforeAll, expect, it } from 'vitest';
import { causeChain } from '../../lib/failures';
import type { RollbackReport } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { migrationFixture } from '../helpers/fixture';

const fx = migrationFixture('scope', { seed: 23, notes: 300, seedTarget: true });
const { userId, source, keyring } = fx;
beforeAll(async () => {
  await fx.target.query(
    'CREATE TABLE app_sessions (id bigserial PRIMARY KEY, token text NOT NULL, seen timestamptz DEFAULT now())',
  );
  await fx.target.query('CREATE TABLE app_audit (id bigserial PRIMARY KEY, what text)');
});

it('a rollback on a live database: app tables without user_id, other users and an app index change meanwhile; RolledBack, fingerprint equal, app writes kept', async () => {
  const workflowId = `scope-${randomUUID()}`;
  fx.worker.faults.plan(workflowId, { failAfterPhase: 'validation' });
  let writing = true;
  let sessions = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await fx.target.query('INSERT INTO app_sessions (token) VALUES ($1)', [`s${i}`]);
      await fx.target.query("INSERT INTO app_audit (what) VALUES ('login')");
      await fx.target.query(
        "INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, '\\x01', '\\x02', 'note', now(), now())",
        [randomUUID(), fx.otherUser],
      );
      if (i === 5) await fx.target.query('CREATE INDEX IF NOT EXISTS app_added_idx ON app_sessions (seen)');
      sessions++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const err = await fx.worker.client.workflow
    .execute(migrationWorkflow, {
      taskQueue: fx.worker.taskQueue,
      workflowId,
      args: [{ source, userId, target: fx.target.ref, keyring: keyring.ref, chunkRows: 50, heartbeatTimeoutMs: 3000 }],
    })
    .then(
      () => null,
      (e: unknown) => e,
    );
  writing = false;
  await writer;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  const report = failure.details![0] as RollbackReport;
  expect(report).toMatchObject({ fingerprintEqual: true, differences: [], failed: [] });
  expect(sessions).toBeGreaterThan(5);
  const [kept] = await fx.target.query<{ n: number }>('SELECT count(*)::int AS n FROM app_sessions');
  expect(kept!.n).toBe(sessions);
  expect(await fx.target.query("SELECT indexname FROM pg_indexes WHERE indexname = 'app_added_idx'")).toHaveLength(1);
  // This user's rows in the mapped tables are back to the seed: one note, one task.
  expect(await fx.target.query('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [userId])).toEqual([
    { n: 1 },
  ]);
  // The runbook never offers a whole-database restore without saying what it destroys.
  for (const step of report.runbook.filter((s) => s.includes('runbook restore')))
    expect(step).toMatch(/DESTROYS every write/);
}, 180_000);
