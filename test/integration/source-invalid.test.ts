// A source that is not a SQLite database fails the run at once as SourceInvalid (non-retryable),
// naming the path and what is wrong with it: one preflight attempt, no retries of a generic
// error, and the target exactly as it was.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';

let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const dir = tempDir();
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  worker = await startTestWorker();
  target = await createTargetDatabase();
  await seedTarget(target, userId);
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const schemas = async () =>
  (await target.query<{ n: string }>('SELECT nspname AS n FROM pg_namespace ORDER BY 1')).map((r) => r.n);

const cases: { name: string; write: (path: string) => void; message: RegExp }[] = [
  {
    name: 'random bytes',
    write: (p) => writeFileSync(p, randomBytes(8192)),
    message: /is not a SQLite database: its first 16 bytes are not the header/,
  },
  {
    name: 'a text file',
    write: (p) => writeFileSync(p, 'id,title\n1,hello\n'.repeat(200)),
    message: /is not a SQLite database: its first 16 bytes are not the header/,
  },
  { name: 'an empty file', write: (p) => writeFileSync(p, ''), message: /is empty \(0 bytes\), not a SQLite database/ },
  { name: 'a missing file', write: () => undefined, message: /does not exist/ },
  {
    name: 'a SQLite header over garbage',
    write: (p) => writeFileSync(p, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), randomBytes(8176)])),
    message: /has a SQLite header but is corrupt/,
  },
];

it.each(cases)(
  '$name fails once as SourceInvalid naming the problem; the target is unchanged',
  async ({ name, write, message }) => {
    const source = join(dir, `${name.replace(/\W+/g, '-')}.sqlite`);
    write(source);
    const before = { state: await targetState(target), schemas: await schemas() };
    const workflowId = `source-invalid-${randomUUID()}`;
    const started = Date.now();
    const err = await worker.client.workflow
      .execute('migrationWorkflow', {
        taskQueue: worker.taskQueue,
        workflowId,
        args: [{ source, userId, target: target.ref, keyring: keyring.ref }],
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    const elapsedMs = Date.now() - started;

    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect((activity as ActivityFailure).activityType).toBe('preflight');
    const failure = (activity as ActivityFailure).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('SourceInvalid');
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect((failure as ApplicationFailure).message).toContain(source);
    expect((failure as ApplicationFailure).message).toMatch(message);

    // Attempted once: the started event of the only preflight records attempt 1 (retries would
    // have raised it), and nothing else was scheduled.
    const events = (await worker.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => e.activityTaskScheduledEventAttributes!.activityType?.name);
    expect(scheduled).toEqual(['preflight']);
    const startedEvents = events.filter((e) => e.activityTaskStartedEventAttributes);
    expect(startedEvents.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
    // Five attempts of a retryable error take at least 1+2+4+8 = 15 s of backoff; one attempt is far below that.
    expect(elapsedMs).toBeLessThan(15_000);

    expect({ state: await targetState(target), schemas: await schemas() }).toEqual(before);
  },
);
