// The web app in a real browser (Debian's Chromium, driven by playwright-core) against the
// whole stack: the key kept in the browser, two recordings dropped at once and both
// followed live to completion, refusals (type, size, key, quota), the transcript beside its
// player (click a segment: the player seeks there), switching jobs (B's panel never shows
// A's events), cancel behind a confirmation, the enrichment tabs (issue 15), phone width.
// Any console error, page error or CSP violation fails a test. Each screen is saved as a
// screenshot under SCREENSHOTS (printed at the start).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobEventInput } from '@transcribe/contracts';
import { appendJobEvent, insertEnrichments, insertJob, type Db } from '@transcribe/db';
import {
  seedTenant,
  createFaultAudio,
  createTestEnv,
  JFK_REFERENCE,
  audioFixture,
  startStack,
  wordErrorRate,
  type FaultAudio,
  type Stack,
  type TestEnv,
} from '../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// scripts/setup.sh installs Chromium; on a machine without it this file says so and skips.
const haveBrowser = existsSync(CHROMIUM);
const describeWithBrowser = haveBrowser ? describe : describe.skip;
if (!haveBrowser) console.warn(`web UI test skipped: no browser at ${CHROMIUM}`);

const SCREENSHOTS = process.env.SCREENSHOTS_DIR ?? join(tmpdir(), 'transcribe-web-ui');
const KEY = 'tk_web_ui_test_key_0123456789';
/** Small, so a refused oversize file is small too. */
const MAX_UPLOAD_BYTES = 8_000_000;
let env: TestEnv;
let stack: Stack;
let browser: Browser;
let audio: FaultAudio;
let tenantId: string;
/** The two jobs the drop made, by file name. */
const dropped = new Map<string, string>();

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * A page that records every console error, page error and CSP violation; `allow` names
 * console messages a test expects (an API refusal the page shows is also logged by Chromium).
 */
async function openPage(
  options: { width?: number; key?: string } = {},
): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({
    viewport: { width: options.width ?? 1100, height: 900 },
  });
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.exposeFunction('reportCsp', (s: string) => problems.push(`csp: ${s}`));
  await page.addInitScript(`
    document.addEventListener('securitypolicyviolation', (e) =>
      window.reportCsp(e.violatedDirective + ' ' + e.blockedURI));
    ${options.key !== undefined ? `localStorage.setItem('transcribe.key', ${JSON.stringify(options.key)});` : ''}
  `);
  await page.goto(`${stack.gatewayUrl}/`);
  return { page, problems };
}

/** Drops files on the drop zone as a person would: a DataTransfer with File objects. */
async function dropFiles(page: Page, files: { name: string; bytes: Buffer; type: string }[]) {
  const payload = JSON.stringify(
    files.map((f) => ({ name: f.name, type: f.type, b64: f.bytes.toString('base64') })),
  );
  const transfer = await page.evaluateHandle(`(() => {
    const dt = new DataTransfer();
    for (const f of ${payload}) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return dt;
  })()`);
  await page.dispatchEvent('#dropzone', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: transfer });
}

/**
 * Waits until `expression` is true in the page. (Not page.waitForFunction: it compiles the
 * predicate in the page, which the page's CSP forbids; page.evaluate goes through CDP.)
 */
async function waitUntil(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
    await page.waitForTimeout(100);
  }
}

/** Records every line each upload row shows (window.lines, by file name). */
async function watchUploadLines(page: Page): Promise<void> {
  await page.evaluate(`
    window.lines = {};
    new MutationObserver(() => {
      for (const row of document.querySelectorAll('#uploads li')) {
        const seen = (window.lines[row.dataset.name] ??= []);
        const text = row.querySelector('.upload-line').textContent;
        if (seen[seen.length - 1] !== text) seen.push(text);
      }
    }).observe(document.getElementById('uploads'), {
      childList: true, characterData: true, subtree: true, attributes: true,
    });
  `);
}

const wav = (path: string, name = basename(path)) => ({
  name,
  bytes: readFileSync(path),
  type: 'audio/wav',
});

describeWithBrowser('web app', () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    console.log(`web app screenshots: ${SCREENSHOTS}`);
    env = await createTestEnv();
    tenantId = (await seedTenant(env.db, 'web', { apiKey: KEY, keyName: 'ui' })).id;
    audio = await createFaultAudio();
    // A chat engine is configured (never called here: the enrichments below are seeded).
    stack = await startStack({
      env: {
        ...env.env,
        ENRICH_BASE_URL: 'http://127.0.0.1:9/v1',
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      },
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
        // The player starts on a click in the transcript, with no other gesture needed.
        '--autoplay-policy=no-user-gesture-required',
        '--mute-audio',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await audio?.close();
    await env?.close();
  });

  it('keeps the key, takes two dropped recordings and shows both progressing live to completion', async () => {
    const { page, problems } = await openPage();
    // No key yet: the key form, and where keys come from.
    expect(await page.isVisible('#upload-section')).toBe(false);
    expect(await page.textContent('#key-section')).toContain('pnpm transcribe keys create');
    await shot(page, '01-key');
    await page.fill('#key', KEY);
    await page.press('#key', 'Enter');
    await page.waitForSelector('#dropzone', { state: 'visible' });
    // Kept in the browser: a reload asks for nothing.
    await page.reload();
    await page.waitForSelector('#dropzone', { state: 'visible' });
    expect(await page.textContent('#key-state')).toContain('saved');

    // Every line each upload row shows, to prove progress arrived live.
    await watchUploadLines(page);
    const long = await audio.long(20);
    await dropFiles(page, [wav(audioFixture('jfk.wav')), wav(long, 'lecture-20s.wav')]);
    await page.waitForSelector('#uploads li[data-state=uploading], #uploads li[data-state=queued]');
    await shot(page, '02-uploading');
    for (const name of ['jfk.wav', 'lecture-20s.wav']) {
      await page.waitForSelector(`#uploads li[data-name="${name}"][data-state=completed]`, {
        timeout: 240_000,
      });
      dropped.set(name, (await page.getAttribute(`#uploads li[data-name="${name}"]`, 'data-job'))!);
    }
    const lines = (await page.evaluate('window.lines')) as Record<string, string[]>;
    for (const name of ['jfk.wav', 'lecture-20s.wav']) {
      const seen = lines[name] ?? [];
      // Bytes sent, then the job's own progress from the tenant stream, then done.
      expect(seen.some((l) => /^[\d.]+ (B|KiB|MiB) of [\d.]+ (KiB|MiB)/.test(l))).toBe(true);
      expect(
        seen.some((l) => /^(transcribing|normalizing|splitting|probing|downloading) \d+%/.test(l)),
      ).toBe(true);
      expect(seen[seen.length - 1]).toMatch(/^completed/);
    }
    // The jobs list shows both, completed, live.
    await page.waitForSelector(
      `#jobs tr[data-job="${dropped.get('jfk.wav')}"][data-status=completed]`,
    );
    await page.waitForSelector(
      `#jobs tr[data-job="${dropped.get('lecture-20s.wav')}"][data-status=completed]`,
    );
    await shot(page, '03-uploaded');
    expect(problems).toEqual([]);
  }, 300_000);

  it('says why a file is refused: its type, its size, the key', async () => {
    const { page, problems } = await openPage({ key: KEY });
    await page.waitForSelector('#dropzone', { state: 'visible' });
    await dropFiles(page, [
      { name: 'notes.txt', bytes: Buffer.from('not audio'), type: 'text/plain' },
      { name: 'huge.wav', bytes: Buffer.alloc(MAX_UPLOAD_BYTES + 1), type: 'audio/wav' },
    ]);
    const txt = '#uploads li[data-name="notes.txt"][data-state=refused] .upload-line';
    const big = '#uploads li[data-name="huge.wav"][data-state=refused] .upload-line';
    await page.waitForSelector(txt);
    await page.waitForSelector(big);
    expect(await page.textContent(txt)).toContain('Not a recording this server accepts');
    expect(await page.textContent(big)).toBe(
      `Too big: “huge.wav” is ${MAX_UPLOAD_BYTES + 1} bytes; this server takes up to ${MAX_UPLOAD_BYTES} bytes.`,
    );
    expect(await page.getAttribute(txt, 'role')).toBe('alert');
    await shot(page, '04-refused');
    expect(problems).toEqual([]);

    // A key the API refuses: said so at once, with where keys come from.
    const wrong = await openPage({ key: 'not-a-key' });
    await wrong.page.waitForSelector('#error:not([hidden])');
    expect(await wrong.page.textContent('#error')).toContain('The API key was refused');
    await dropFiles(wrong.page, [wav(audioFixture('jfk.wav'))]);
    const refused = '#uploads li[data-state=refused] .upload-line';
    await wrong.page.waitForSelector(refused);
    expect(await wrong.page.textContent(refused)).toContain('pnpm transcribe keys create');
    // The old page showed a full progress bar here: nothing is open, so no bar at all.
    expect(await wrong.page.isVisible('#bar')).toBe(false);
    await shot(wrong.page, '05-wrong-key');
  });

  it('says which quota refused a job, and the refusal leaves the queued job alone', async () => {
    // A tenant whose cap on queued jobs (issue 17) is 1, with one job queued that no worker
    // takes yet (its backoff runs for an hour).
    const key = 'tk_web_ui_quota_key_0123456789';
    const tenant = await seedTenant(env.db, 'web-quota', { apiKey: key, keyName: 'ui' });
    await env.db
      .updateTable('tenants')
      .set({ max_queued_jobs: 1 })
      .where('id', '=', tenant.id)
      .execute();
    const waiting = randomUUID();
    await insertJob(env.db, {
      id: waiting,
      tenant_id: tenant.id,
      status: 'queued',
      stage: 'queued',
      priority: 'default',
      object_key: `${tenant.id}/${waiting}/waiting.wav`,
      filename: 'waiting.wav',
      content_type: 'audio/wav',
      size_bytes: 4096,
      language: 'en',
      engine: 'sphinx',
      not_before: new Date(Date.now() + 3600_000),
    });
    const { page, problems } = await openPage({ key });
    await page.waitForSelector('#dropzone', { state: 'visible' });
    await dropFiles(page, [wav(audioFixture('jfk.wav'))]);
    const refused = '#uploads li[data-state=refused] .upload-line';
    await page.waitForSelector(refused);
    const said = (await page.textContent(refused)) ?? '';
    expect(said).toContain("Over your account's limit");
    expect(said).toContain('already has 1 job queued, its limit is 1');
    await shot(page, '05b-quota');
    // Chromium logs the 429 it was answered; nothing else may go wrong.
    expect(problems.filter((p) => !/status of 429/.test(p))).toEqual([]);
    const jobs = await env.db
      .selectFrom('jobs')
      .select(['id', 'status'])
      .where('tenant_id', '=', tenant.id)
      .execute();
    expect(jobs).toEqual([{ id: waiting, status: 'queued' }]);
  });

  it('sends a big recording in parts with bytes and speed, then cancels its job after confirming', async () => {
    const { page, problems } = await openPage({ key: KEY });
    // Parts from any size (their floor is S3's 5 MiB): a 6 MiB file goes in two.
    await page.evaluate(`localStorage.setItem('transcribe.multipartFromBytes', '1')`);
    await page.waitForSelector('#dropzone', { state: 'visible' });
    await watchUploadLines(page);
    const big = await audio.long(200);
    await dropFiles(page, [wav(big, 'long-talk.wav')]);
    const item = '#uploads li[data-name="long-talk.wav"]';
    await page.waitForSelector(`${item}[data-state=queued][data-method=multipart]`, {
      timeout: 60_000,
    });
    const jobId = (await page.getAttribute(item, 'data-job'))!;
    const seen = ((await page.evaluate('window.lines')) as Record<string, string[]>)[
      'long-talk.wav'
    ]!;
    const sent = seen.filter((l) => / of 6\.\d MiB/.test(l));
    // The first part's bytes, then the second's: at least three distinct counts.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.at(-1)).toMatch(/^6\.\d MiB of 6\.\d MiB, [\d.]+ (KiB|MiB|GiB)\/s$/);
    await shot(page, '05b-multipart-queued');
    // Cancel it from the list, after saying yes.
    const row = `#jobs tr[data-job="${jobId}"]`;
    await page.waitForSelector(`${row} button[data-action=cancel]`, { timeout: 30_000 });
    await page.click(`${row} button[data-action=cancel]`);
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-yes');
    await page.waitForSelector(`${row}[data-status=canceled]`, { timeout: 30_000 });
    await page.waitForSelector(`${item}[data-state=canceled]`, { timeout: 30_000 });
    expect(problems).toEqual([]);
  }, 120_000);

  it('shows the transcript beside the player: a click on a segment seeks there, the segment lights up', async () => {
    const jobId = dropped.get('lecture-20s.wav');
    expect(jobId).toBeDefined();
    const { page, problems } = await openPage({ key: KEY });
    await page.click(`#jobs a[href="#/jobs/${jobId}"]`);
    await page.waitForSelector('#result:not([hidden])');
    await page.waitForSelector('#player');
    const segments = await page.$$eval('#transcript .segment', (li) =>
      li.map((l) => Number((l as unknown as { dataset: { start: string } }).dataset.start)),
    );
    expect(segments.length).toBeGreaterThan(0);
    const at = segments.length - 1;
    const target = segments[at]!;
    await page.click(`#transcript .segment:nth-child(${at + 1}) .seg-time`);
    const player = `document.getElementById('player')`;
    await waitUntil(page, `!${player}.paused && ${player}.currentTime >= ${target}`);
    const time = (await page.evaluate(`document.getElementById('player').currentTime`)) as number;
    expect(time).toBeGreaterThanOrEqual(target);
    expect(time).toBeLessThan(target + 3);
    await page.waitForSelector(`#transcript .segment:nth-child(${at + 1}).current`);
    await shot(page, '06-transcript-playing');

    // Search narrows the list; the downloads and copy are there.
    const word = (
      (await page.textContent(`#transcript .segment:nth-child(${at + 1}) .seg-text`)) ?? ''
    )
      .trim()
      .split(/\s+/)[0]!;
    await page.fill('#search', word);
    expect(await page.textContent('#search-count')).toMatch(/^\d+ of \d+ segments$/);
    expect(
      await page.$$eval('#transcript-downloads a', (a) => a.map((x) => x.textContent)),
    ).toEqual(['txt', 'srt', 'vtt', 'json']);
    const download = page.waitForEvent('download');
    await page.click('#transcript-downloads a[data-format=srt]');
    expect((await download).suggestedFilename()).toBe(`${jobId}.srt`);
    await shot(page, '07-transcript-search');

    // The jfk transcript reads right.
    await page.click(`#jobs a[href="#/jobs/${dropped.get('jfk.wav')}"]`);
    await waitUntil(
      page,
      `document.getElementById('current').dataset.job === ${JSON.stringify(dropped.get('jfk.wav'))} && !document.getElementById('result').hidden`,
    );
    const text = (
      await page.$$eval('#transcript .seg-text', (s) => s.map((x) => x.textContent))
    ).join(' ');
    expect(wordErrorRate(JFK_REFERENCE, text)).toBeLessThan(0.8);
    expect(problems).toEqual([]);
  }, 60_000);

  it("switching from job A to job B: B's panel never shows A's events, and A's stream stays closed", async () => {
    const a = await seedRunningJob(env.db, tenantId, 'job-a.wav');
    const b = await seedRunningJob(env.db, tenantId, 'job-b.wav');
    const { page, problems } = await openPage({ key: KEY });
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.waitForSelector(`#jobs a[href="#/jobs/${a}"]`);
    await page.click(`#jobs a[href="#/jobs/${a}"]`);
    await page.waitForSelector(`#current[data-job="${a}"][data-seq="3"]`);
    // From the switch on: every event line and status the panel shows.
    await page.evaluate(`
      window.shown = [];
      new MutationObserver(() => {
        const panel = document.getElementById('current');
        for (const li of document.querySelectorAll('#events li')) window.shown.push(panel.dataset.job + ' ' + li.dataset.job + ' ' + li.textContent);
        window.shown.push(panel.dataset.job + ' status ' + document.getElementById('status').textContent);
      }).observe(document.getElementById('current'), { childList: true, characterData: true, subtree: true });
    `);
    await page.click(`#jobs a[href="#/jobs/${b}"]`);
    await page.waitForSelector(`#current[data-job="${b}"][data-seq="3"]`);
    const before = sockets.filter((url) => url.includes(a)).length;
    // A moves on after the switch; so does B.
    await appendEvents(env.db, a, [
      { type: 'progress', progress: 77, stage: 'transcribing', attempt: 1 },
    ]);
    await appendEvents(env.db, b, [
      { type: 'progress', progress: 33, stage: 'transcribing', attempt: 1 },
    ]);
    await page.waitForSelector('#status >> text=/^transcribing 33%/', { timeout: 30_000 });
    // Time for a stale socket to write, or to reconnect (the old page retried after 1 s).
    await page.waitForTimeout(2500);
    const shown = (await page.evaluate('window.shown')) as string[];
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((line) => line.includes(a) || line.includes('77%'))).toEqual([]);
    expect(sockets.filter((url) => url.includes(a)).length).toBe(before);
    expect(
      await page.$$eval('#events li', (li) => li.map((l) => l.getAttribute('data-job'))),
    ).toEqual([b, b, b, b]);
    await shot(page, '08-switched');
    expect(problems).toEqual([]);
  });

  it('cancels a job only after the confirmation says yes', async () => {
    const id = await seedRunningJob(env.db, tenantId, 'to-cancel.wav');
    const { page, problems } = await openPage({ key: KEY });
    const row = `#jobs tr[data-job="${id}"]`;
    await page.waitForSelector(`${row}[data-status=processing]`);
    await page.click(`${row} button[data-action=cancel]`);
    await page.waitForSelector('#confirm[open]');
    expect(await page.textContent('#confirm-text')).toBe(
      'Cancel the transcription of “to-cancel.wav”?',
    );
    await shot(page, '09-confirm-cancel');
    // Escape keeps it.
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm', { state: 'hidden' });
    expect(await page.getAttribute(row, 'data-status')).toBe('processing');
    // Yes cancels it; the tenant stream and the row say so.
    await page.click(`${row} button[data-action=cancel]`);
    await page.click('#confirm-yes');
    await page.waitForSelector(`${row}[data-status=canceled]`, { timeout: 30_000 });
    expect(await page.isVisible(`${row} button[data-action=retry]`)).toBe(true);
    // The status filter: canceled jobs only.
    await page.selectOption('#filter-status', 'canceled');
    await waitUntil(
      page,
      `[...document.querySelectorAll('#jobs tr')].every((tr) => tr.dataset.status === 'canceled') && document.querySelector('#jobs tr[data-job="${id}"]') !== null`,
    );
    await shot(page, '10-canceled');
    expect(problems).toEqual([]);
  });

  it('fits a phone: 375 px wide, no horizontal scrolling, list and transcript', async () => {
    const { page, problems } = await openPage({ key: KEY, width: 375 });
    await page.waitForSelector('#jobs tr');
    const overflow = () =>
      page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(await overflow()).toBe(0);
    await shot(page, '11-phone-list');
    await page.click(`#jobs a[href="#/jobs/${dropped.get('lecture-20s.wav')}"]`);
    await page.waitForSelector('#player');
    expect(await overflow()).toBe(0);
    await shot(page, '12-phone-transcript');
    // From the keyboard: Tab reaches the drop zone, and a segment's time button seeks.
    await page.focus('#transcript .segment .seg-time');
    await page.keyboard.press('Enter');
    await waitUntil(page, `!document.getElementById('player').paused`);
    expect(problems).toEqual([]);
  });

  it('sends the enrichments ticked on the form as `enrich`', async () => {
    const { page } = await openPage({ key: KEY });
    await page.waitForSelector('#enrich:not([hidden])');
    await page.check('#enrich input[value=summary]');
    await page.check('#enrich input[value=notes]');
    await page.fill('#target', 'de'); // ticks "translation to"
    // Answered here, so no job is made: only what the page sends matters.
    let body = '';
    await page.route('**/v1/jobs', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      body = route.request().postData() ?? '';
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'enrichment_unavailable', message: 'no chat engine' },
        }),
      });
    });
    await dropFiles(page, [wav(audioFixture('jfk.wav'))]);
    const refused = '#uploads li[data-state=refused] .upload-line';
    await page.waitForSelector(refused);
    expect(await page.textContent(refused)).toContain('enrichment_unavailable');
    expect((JSON.parse(body) as { enrich: unknown }).enrich).toEqual([
      'summary',
      'notes',
      { translate: 'de' },
    ]);
  });

  it('shows the enrichments as tabs: a rendered summary, live progress of the notes, then their result', async () => {
    const jobId = await seedEnrichedJob(env.db, tenantId);
    const { page, problems } = await openPage({ key: KEY });
    // This gateway has a chat engine: the form offers enrichments.
    await page.waitForSelector('#enrich:not([hidden])');
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
    // A diarized segment names its speaker.
    expect(await page.textContent('#transcript .segment .speaker')).toBe('A');
    // Its recording was never stored (seeded): said so, no player.
    await page.waitForSelector('#media-note:not([hidden])');
    expect(await page.textContent('#media-note')).toBe(
      'The recording is no longer stored; the transcript is all that is left.',
    );

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
      path: join(SCREENSHOTS, '13-summary.png'),
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
      path: join(SCREENSHOTS, '14-enrichments.png'),
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
    await shot(page, '15-notes');
    // Chromium logs the media link's expected 410 (the page says why, above).
    expect(problems.filter((p) => !/status of 410/.test(p))).toEqual([]);
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
    segments: JSON.stringify([{ start: 0, end: 3.5, text, speaker: 'A' }]),
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

/** A job a worker is transcribing (rows and events as its edges leave them), for switching and canceling. */
async function seedRunningJob(db: Db, tenant: string, filename: string): Promise<string> {
  const id = randomUUID();
  await insertJob(db, {
    id,
    tenant_id: tenant,
    status: 'processing',
    stage: 'transcribing',
    priority: 'default',
    object_key: `${tenant}/${id}/${filename}`,
    filename,
    content_type: 'audio/wav',
    size_bytes: 4096,
    language: 'en',
    engine: 'sphinx',
    progress: 10,
    attempts: 1,
    started_at: new Date(),
  });
  await appendEvents(db, id, [
    { type: 'queued' },
    { type: 'processing', attempt: 1 },
    { type: 'progress', progress: 10, stage: 'transcribing', attempt: 1 },
  ]);
  return id;
}
