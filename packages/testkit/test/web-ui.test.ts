// The gateway's web UI in a real browser (Debian's Chromium, driven by playwright-core)
// against the whole stack: pick a file, watch live progress over the notifier's WebSocket,
// read the transcript. Any console error (a CSP violation, a script error) fails the test.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import {
  seedTenant,
  createTestEnv,
  JFK_REFERENCE,
  audioFixture,
  startStack,
  wordErrorRate,
  type Stack,
  type TestEnv,
} from '../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// scripts/setup.sh installs Chromium; on a machine without it this file says so and skips.
const haveBrowser = existsSync(CHROMIUM);
const describeWithBrowser = haveBrowser ? describe : describe.skip;
if (!haveBrowser) console.warn(`web UI test skipped: no browser at ${CHROMIUM}`);

const KEY = 'tk_web_ui_test_key_0123456789';
let env: TestEnv;
let stack: Stack;
let browser: Browser;

describeWithBrowser('web UI', () => {
  beforeAll(async () => {
    env = await createTestEnv();
    await seedTenant(env.db, 'web', { apiKey: KEY, keyName: 'ui' });
    stack = await startStack({ env: env.env });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // A closed network: keep Chromium from calling home (playwright makes a fresh profile).
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
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await env?.close();
  });

  it('uploads a recording, shows live progress and the transcript, with no console errors', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    const statuses: string[] = [];
    await page.exposeFunction('reportStatus', (s: string) => statuses.push(s));

    await page.goto(`${stack.gatewayUrl}/`);
    await page.fill('#key', KEY);
    await page.setInputFiles('#file', audioFixture('jfk.wav'));
    // Record every status line the page shows, to prove progress arrived live.
    // (A string: this runs in the page, whose DOM types the tests' tsconfig does not load.)
    await page.evaluate(`
      const status = document.getElementById('status');
      new MutationObserver(() => window.reportStatus(status.textContent || '')).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    `);
    await page.click('button[type=submit]');
    await page.waitForSelector('#result:not([hidden])', { timeout: 150_000 });

    const transcript = (await page.textContent('#transcript'))?.trim() ?? '';
    expect(wordErrorRate(JFK_REFERENCE, transcript)).toBeLessThan(0.8);
    expect(await page.textContent('#status')).toMatch(/^completed/);
    expect(
      statuses.some((s) =>
        /^(uploading|queued|processing|downloading|probing|normalizing|transcribing)/.test(s),
      ),
    ).toBe(true);
    expect(statuses.some((s) => /^transcribing \d+%/.test(s) || /^normalizing \d+%/.test(s))).toBe(
      true,
    );
    // The recent jobs list shows it, completed.
    await page.waitForSelector('#jobs tr >> text=completed');
    await page.screenshot({ path: join(tmpdir(), 'transcribe-web-ui.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows the API error when the key is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.gatewayUrl}/`);
    await page.fill('#key', 'not-a-key');
    await page.click('#refresh');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toContain('unauthorized');
  });
});
