// End to end in a real browser: headless Chromium (Debian's package, driven by playwright-core)
// opens the dev server's Web UI, finds a migration run by its search attribute, opens it and
// screenshots the page showing MigrationPhase.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { PROJECT_ROOT, startDevServer, type DevServer } from '../../infra/temporal-cli';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(PROJECT_ROOT, 'var', 'screenshots');
let server: DevServer;
let worker: TestWorker;
let target: TestTarget;
let browser: Browser;
const userId = randomUUID();
const source = join(tempDir(), 'ui.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  generateDataset({ path: source, seed: 31, notes: 60 });
  server = await startDevServer({ headless: false }); // this test needs the Web UI
  worker = await startTestWorker({ address: server.address });
  target = await createTargetDatabase();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await target?.close();
  await server?.stop();
});

it('finds the run by MigrationUser in the Web UI and shows its MigrationPhase', async () => {
  const workflowId = `ui-${randomUUID()}`;
  await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref }],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const query = encodeURIComponent(`MigrationUser="${userId}"`);
  const link = page.locator(`a[href*="/workflows/${workflowId}"]`).first();
  // Visibility is eventually consistent: reload the list until the run shows.
  await waitUntil(
    'the run in the Web UI list',
    async () => {
      await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${query}`, { waitUntil: 'networkidle' });
      return link.isVisible();
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  ).catch(() => undefined);
  await link.click();
  await page.getByText('Search Attributes', { exact: true }).click();
  const attributes = page.locator('body');
  await expect.poll(() => attributes.innerText(), { timeout: 15_000 }).toContain('"MigrationPhase": "completed"');
  expect(await attributes.innerText()).toContain(workflowId);
  mkdirSync(SHOTS, { recursive: true });
  const shot = join(SHOTS, 'web-ui-migration-run.png');
  await page.screenshot({ path: shot });
  expect(statSync(shot).size).toBeGreaterThan(20_000);
});
