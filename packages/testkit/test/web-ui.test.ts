// The gateway's web UI in a real browser (Debian's Chromium, driven by playwright-core)
// against the whole stack: pick a file, watch live progress over the notifier's WebSocket,
// read the transcript; a job's enrichments as tabs beside it, their results rendered and
// their progress live. Any console error (a CSP violation, a script error) fails the test.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { JobEventInput } from '@transcribe/contracts';
import { appendJobEvent, insertEnrichments, insertJob, type Db } from '@transcribe/db';
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
let tenantId: string;

describeWithBrowser('web UI', () => {
  beforeAll(async () => {
    env = await createTestEnv();
    tenantId = (await seedTenant(env.db, 'web', { apiKey: KEY, keyName: 'ui' })).id;
    // A chat engine is configured (never called here: the enrichments below are seeded).
    stack = await startStack({
      env: { ...env.env, ENRICH_BASE_URL: 'http://127.0.0.1:9/v1' },
    });
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
  it('sends the enrichments ticked on the form as `enrich`', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.gatewayUrl}/`);
    await page.waitForSelector('#enrich:not([hidden])');
    await page.fill('#key', KEY);
    await page.setInputFiles('#file', audioFixture('jfk.wav'));
    await page.check('#enrich input[value=summary]');
    await page.check('#enrich input[value=notes]');
    await page.fill('#target', 'de'); // ticks "translation to"
    // Answered here, so no job is made: only what the page sends matters.
    let body = '';
    await page.route('**/v1/jobs/upload', async (route) => {
      body = route.request().postDataBuffer()?.toString('latin1') ?? '';
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'enrichment_unavailable', message: 'no chat engine' },
        }),
      });
    });
    await page.click('button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toContain('enrichment_unavailable');
    const field = /name="enrich"\r\n\r\n([^\r]*)\r\n/.exec(body)?.[1];
    expect(JSON.parse(field ?? 'null')).toEqual(['summary', 'notes', { translate: 'de' }]);
  });

  it('shows the enrichments as tabs: a rendered summary, live progress of the notes, then their result', async () => {
    const jobId = await seedEnrichedJob(env.db, tenantId);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${stack.gatewayUrl}/`);
    // This gateway has a chat engine: the form offers enrichments.
    await page.waitForSelector('#enrich:not([hidden])');
    await page.fill('#key', KEY);
    await page.click('#refresh');
    // Every status the summary's panel shows, from the first.
    await page.evaluate(`
      window.summaryStatuses = [];
      new MutationObserver(() => {
        const status = document.querySelector('.enrichment[data-key=summary] .status');
        if (status) window.summaryStatuses.push(status.textContent);
      }).observe(document.getElementById('enrichments'), {
        childList: true,
        characterData: true,
        subtree: true,
      });
    `);
    await page.click('#jobs a >> text=lecture.mp3');

    await page.waitForSelector('#tabs:not([hidden])');
    // The stream replays from seq 1 over the state the API gave (the summary's
    // `enrichment.queued` and `processing` among them): a finished enrichment stays finished.
    await page.waitForSelector('#current[data-seq="9"]');
    const shown = (await page.evaluate('window.summaryStatuses')) as string[];
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((text) => !text.startsWith('completed'))).toEqual([]);
    const tabNames = await page.$$eval('#tabs [role=tab]', (tabs) =>
      tabs.map((t) => (t.textContent ?? '').replace(/\s+/g, ' ').trim()),
    );
    expect(tabNames).toEqual(['Transcript', 'Summary', 'Notes 20%']);
    await page.waitForSelector('#result:not([hidden])');
    expect(await page.textContent('#transcript')).toContain('Photosynthesis turns light');

    await page.click('#tabs [role=tab][data-key=summary]');
    const summary = '.enrichment[data-key=summary]';
    await page.waitForSelector(`${summary} .rendered h3`);
    expect(await page.textContent(`${summary} .rendered h3`)).toBe('Photosynthesis');
    expect(
      await page.$$eval(`${summary} .rendered li`, (li) => li.map((l) => l.textContent)),
    ).toEqual(['Light is turned into chemical energy.', 'Chlorophyll absorbs red and blue light.']);
    expect(await page.textContent(`${summary} .rendered strong`)).toBe('chemical energy');
    // The model's HTML is text, never markup.
    expect(await page.$$(`${summary} .rendered img, ${summary} .rendered script`)).toHaveLength(0);
    expect(await page.textContent(`${summary} .rendered`)).toContain(
      '<img src=x onerror=alert(1)>',
    );
    expect(await page.textContent(`${summary} .status`)).toBe('completed by llama3.1:8b in 4.0 s');
    expect(
      await page.$$eval(`${summary} .downloads a`, (links) => links.map((a) => a.textContent)),
    ).toEqual(['md', 'txt', 'json']);
    expect(await page.isVisible('#transcript')).toBe(false);
    await page.screenshot({
      path: join(tmpdir(), 'transcribe-web-ui-summary.png'),
      fullPage: true,
    });

    // Keyboard too: the arrow key moves from Summary to Notes.
    await page.focus('#tabs [role=tab][data-key=summary]');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('#tabs [role=tab][data-key=notes]', 'aria-selected')).toBe(
      'true',
    );
    const notes = '.enrichment[data-key=notes]';
    expect(await page.isVisible(notes)).toBe(true);
    expect(await page.textContent(`${notes} .status`)).toBe('processing 20% (1/5 pieces)');
    // The next piece lands: its event reaches the open page through the notifier.
    await appendEvents(env.db, jobId, [
      {
        type: 'enrichment.progress',
        enrichment: notesRef!,
        progress: 60,
        piecesDone: 3,
        piecesTotal: 5,
      },
    ]);
    await page.waitForSelector(`${notes} .status >> text=processing 60% (3/5 pieces)`, {
      timeout: 30_000,
    });
    expect(await page.textContent('#tabs [role=tab][data-key=notes] .badge')).toBe('60%');
    expect(
      await page.$eval(`${notes} progress`, (bar) => (bar as unknown as { value: number }).value),
    ).toBe(60);
    await page.screenshot({
      path: join(tmpdir(), 'transcribe-web-ui-enrichments.png'),
      fullPage: true,
    });

    // The notes complete (row and event in one transaction, as the worker's edge writes
    // them): rendered at once, with the formats from the job's view.
    const finishedAt = new Date();
    await env.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('enrichments')
        .set({
          status: 'completed',
          progress: 100,
          pieces_done: 5,
          model: 'llama3.1:8b',
          text: NOTES_MD,
          result: JSON.stringify({ shape: 'markdown', markdown: NOTES_MD }),
          started_at: new Date(finishedAt.getTime() - 9000),
          finished_at: finishedAt,
        })
        .where('id', '=', notesRef!.id)
        .execute();
      await appendJobEvent(
        trx,
        { id: jobId, tenantId },
        {
          type: 'enrichment.completed',
          enrichment: notesRef!,
          model: 'llama3.1:8b',
          usage: null,
          processingMs: 9000,
        },
      );
    });
    await page.waitForSelector(`${notes} .rendered li`, { timeout: 30_000 });
    expect(await page.$$eval(`${notes} .rendered ol > li`, (li) => li.length)).toBe(2);
    expect(await page.textContent(`${notes} .rendered li li`)).toBe(
      'Light reactions in the thylakoids',
    );
    expect(await page.textContent('#tabs [role=tab][data-key=notes] .badge')).toBe('');
    expect(await page.textContent(`${notes} .status`)).toBe('completed by llama3.1:8b in 9.0 s');
    await page.screenshot({ path: join(tmpdir(), 'transcribe-web-ui-notes.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});

let notesRef: { id: string; key: string; kind: 'notes' } | undefined;

const SUMMARY_MD = [
  '# Photosynthesis',
  '',
  'Plants make **chemical energy** from light:',
  '',
  '- Light is turned into chemical energy.',
  '- Chlorophyll absorbs red and blue light.',
  '',
  'A model may write <img src=x onerror=alert(1)> or <script>alert(2)</script>: shown as text.',
].join('\n');

const NOTES_MD = [
  '## Lecture notes',
  '',
  '1. Two stages',
  '   - Light reactions in the thylakoids',
  '   - The Calvin cycle in the stroma',
  '2. Why plants look green',
].join('\n');

/**
 * A transcribed job (written as the worker's edges would leave it) with two enrichments:
 * a summary that completed, notes at piece 1 of 5, and the job's events up to there.
 */
async function seedEnrichedJob(db: Db, tenant: string): Promise<string> {
  const id = randomUUID();
  const text = 'Photosynthesis turns light into chemical energy.';
  await insertJob(db, {
    id,
    tenant_id: tenant,
    status: 'completed',
    stage: 'completed',
    priority: 'default',
    object_key: `${tenant}/${id}/lecture.mp3`,
    filename: 'lecture.mp3',
    content_type: 'audio/mpeg',
    size_bytes: 4096,
    language: 'en',
    engine: 'sphinx',
    progress: 100,
    attempts: 1,
    text,
    segments: JSON.stringify([{ start: 0, end: 3.5, text }]),
    duration_s: 3.5,
    processing_ms: 1200,
    started_at: new Date(Date.now() - 60_000),
    finished_at: new Date(Date.now() - 30_000),
  });
  const [summary, notes] = await insertEnrichments(db, { id, tenantId: tenant }, [
    { key: 'summary', kind: 'summary', target_language: null },
    { key: 'notes', kind: 'notes', target_language: null },
  ]);
  const startedAt = new Date(Date.now() - 20_000);
  await db
    .updateTable('enrichments')
    .set({
      status: 'completed',
      progress: 100,
      pieces_total: 1,
      pieces_done: 1,
      attempts: 1,
      model: 'llama3.1:8b',
      prompt_version: '1',
      prompt_tokens: 812,
      completion_tokens: 95,
      text: SUMMARY_MD,
      result: JSON.stringify({ shape: 'markdown', markdown: SUMMARY_MD }),
      started_at: startedAt,
      finished_at: new Date(startedAt.getTime() + 4000),
    })
    .where('id', '=', summary!.id)
    .execute();
  await db
    .updateTable('enrichments')
    .set({ status: 'processing', progress: 20, pieces_total: 5, pieces_done: 1, attempts: 1 })
    .where('id', '=', notes!.id)
    .execute();
  const summaryRef = { id: summary!.id, key: 'summary', kind: 'summary' as const };
  notesRef = { id: notes!.id, key: 'notes', kind: 'notes' };
  await appendEvents(db, id, [
    { type: 'queued' },
    { type: 'enrichment.queued', enrichment: summaryRef },
    { type: 'enrichment.queued', enrichment: notesRef },
    { type: 'processing', attempt: 1 },
    { type: 'completed', durationS: 3.5, processingMs: 1200 },
    { type: 'enrichment.processing', enrichment: summaryRef, attempt: 1 },
    {
      type: 'enrichment.completed',
      enrichment: summaryRef,
      model: 'llama3.1:8b',
      usage: { promptTokens: 812, completionTokens: 95 },
      processingMs: 4000,
    },
    { type: 'enrichment.processing', enrichment: notesRef, attempt: 1 },
    {
      type: 'enrichment.progress',
      enrichment: notesRef,
      progress: 20,
      piecesDone: 1,
      piecesTotal: 5,
    },
  ]);
  return id;
}

/** Appends events in one transaction, as a worker does; the gateway's outbox relay publishes them. */
async function appendEvents(db: Db, jobId: string, inputs: JobEventInput[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const input of inputs) await appendJobEvent(trx, { id: jobId, tenantId }, input);
  });
}
