// The job panel's tabs (issue 15): the transcript, and beside it each enrichment of the job
// (clean-up, summary, notes, translations) with its status, its live progress from the
// job's event stream, its result rendered once completed and download links for its formats.
import { api } from './api.js';
import { byId, h, saveBlob } from './dom.js';
import { renderMarkdown } from './markdown.js';
import type { Enrichment, JobEvent } from './types.js';

const TERMINAL_ENRICHMENT = ['completed', 'failed', 'canceled'];
const KIND_LABEL: Record<string, string> = {
  clean: 'Clean',
  summary: 'Summary',
  notes: 'Notes',
  translate: 'Translation',
};

interface Entry {
  data: Enrichment;
  tab: HTMLButtonElement;
  name: HTMLSpanElement;
  badge: HTMLSpanElement;
  panel: HTMLDivElement;
  bar: HTMLProgressElement;
  status: HTMLParagraphElement;
  downloads: HTMLParagraphElement;
  rendered: HTMLElement;
  shown: boolean;
  downloadsFor?: string;
}

/** The open job's tabs: `jobId`, its enrichments by key, and the tab shown. */
let tabs = { jobId: '', byKey: new Map<string, Entry>(), active: 'transcript' };

function tabLabel(e: Enrichment): string {
  const kind = KIND_LABEL[e.kind] ?? e.kind;
  return e.kind === 'translate' && e.targetLanguage ? `${kind} (${e.targetLanguage})` : kind;
}

function statusText(e: Enrichment): string {
  if (e.status === 'processing') {
    const pieces = e.piecesTotal ? ` (${e.piecesDone}/${e.piecesTotal} pieces)` : '';
    const eta = e.etaS !== undefined ? `, about ${Math.ceil(e.etaS)} s left` : '';
    return `processing ${Math.round(e.progress)}%${pieces}${eta}`;
  }
  if (e.status === 'failed' && e.error) return `failed: ${e.error.code}: ${e.error.message}`;
  if (e.status === 'completed') {
    const by = e.model ? ` by ${e.model}` : '';
    const took = e.processingMs ? ` in ${(e.processingMs / 1000).toFixed(1)} s` : '';
    return `completed${by}${took}`;
  }
  return e.status;
}

function badgeText(e: Enrichment): string {
  if (e.status === 'processing') return `${Math.round(e.progress)}%`;
  if (e.status === 'completed') return '';
  return e.status;
}

/** An element id for a key (`translate:de` → `panel-translate-de`). */
const panelId = (key: string) => `panel-${key.replace(/[^a-z0-9-]/gi, '-')}`;

/** Shows one tab's panel and hides the others. */
function selectTab(key: string): void {
  tabs.active = key;
  for (const tab of document.querySelectorAll<HTMLElement>('#tabs [role=tab]')) {
    const selected = tab.dataset.key === key;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  for (const panel of document.querySelectorAll<HTMLElement>('[data-panel]')) {
    panel.hidden = panel.dataset.panel !== key;
  }
}

function tabButton(key: string, controls: string): HTMLButtonElement {
  const tab = h('button', { type: 'button', role: 'tab', 'aria-controls': controls });
  tab.dataset.key = key;
  tab.onclick = () => selectTab(key);
  return tab;
}

function makeEntry(e: Enrichment): Entry {
  const tab = tabButton(e.key, panelId(e.key));
  const name = h('span');
  const badge = h('span', { class: 'badge' });
  tab.append(name, ' ', badge);
  const bar = h('progress', { max: 100 });
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const downloads = h('p', { class: 'downloads', hidden: true });
  const rendered = h('article', { class: 'rendered' });
  const panel = h('div', { class: 'enrichment', role: 'tabpanel', id: panelId(e.key) });
  panel.dataset.panel = e.key;
  panel.dataset.key = e.key;
  panel.hidden = tabs.active !== e.key;
  panel.append(bar, status, downloads, rendered);
  byId('tabs').append(tab);
  byId('enrichments').append(panel);
  return { data: e, tab, name, badge, panel, bar, status, downloads, rendered, shown: false };
}

/** Redraws one enrichment's tab and panel from its state; loads its result once completed. */
function drawEntry(entry: Entry): void {
  const e = entry.data;
  entry.name.textContent = tabLabel(e);
  entry.badge.textContent = badgeText(e);
  entry.tab.dataset.status = e.status;
  entry.bar.value = e.status === 'completed' ? 100 : e.progress;
  entry.bar.hidden = TERMINAL_ENRICHMENT.includes(e.status);
  entry.status.textContent = statusText(e);
  if (e.status === 'completed') {
    drawDownloads(entry);
    if (!entry.shown) {
      entry.shown = true;
      void showResult(entry);
    }
  }
}

async function showResult(entry: Entry): Promise<void> {
  const { jobId } = tabs;
  try {
    const res = await api(`${enrichmentPath(jobId, entry.data.key)}?format=md`);
    const markdown = await res.text();
    if (tabs.jobId !== jobId) return;
    entry.rendered.replaceChildren(renderMarkdown(markdown));
  } catch (error) {
    entry.shown = false;
    entry.status.textContent = `completed; the result could not be loaded: ${(error as Error).message}`;
  }
}

/** Download links for the formats the API lists (md until the job view has been read). */
function drawDownloads(entry: Entry): void {
  const { jobId } = tabs;
  const e = entry.data;
  const formats = e.formats?.length ? e.formats : ['md'];
  if (entry.downloadsFor === formats.join()) return;
  entry.downloadsFor = formats.join();
  entry.downloads.replaceChildren('Download: ');
  for (const format of formats) {
    const link = h('a', { href: '#' }, format);
    link.dataset.format = format;
    link.onclick = async (click) => {
      click.preventDefault();
      const res = await api(`${enrichmentPath(jobId, e.key)}?format=${format}`);
      saveBlob(await res.blob(), `${jobId}.${e.key.replace(':', '-')}.${format}`);
    };
    entry.downloads.append(link, ' ');
  }
  entry.downloads.hidden = false;
}

function enrichmentPath(jobId: string, key: string): string {
  return `/v1/jobs/${jobId}/enrichments/${encodeURIComponent(key).replace('%3A', ':')}`;
}

/** A job opened (or reloaded): its enrichments as the API shows them. */
export function setEnrichments(jobId: string, list: readonly Enrichment[] | undefined): void {
  if (tabs.jobId !== jobId) {
    tabs = { jobId, byKey: new Map(), active: 'transcript' };
    const transcript = tabButton('transcript', 'panel-transcript');
    transcript.textContent = 'Transcript';
    byId('tabs').replaceChildren(transcript);
    byId('enrichments').replaceChildren();
  }
  for (const e of list ?? []) {
    const entry = tabs.byKey.get(e.key) ?? makeEntry(e);
    // A result already shown stays; a fresher view (formats, error, usage) replaces the state.
    entry.data = { ...entry.data, ...e, etaS: undefined };
    tabs.byKey.set(e.key, entry);
    drawEntry(entry);
  }
  byId('tabs').hidden = tabs.byKey.size === 0;
  selectTab(tabs.active);
}

/**
 * An `enrichment.*` event of the open job, live or replayed. Returns true when the job's
 * view should be re-read (a new enrichment, or one that finished: formats, error, usage).
 */
export function applyEnrichmentEvent(jobId: string, event: JobEvent, etaS?: number): boolean {
  if (tabs.jobId !== jobId || !event.enrichment) return false;
  const { key, kind } = event.enrichment;
  let entry = tabs.byKey.get(key);
  if (!entry) {
    const targetLanguage = kind === 'translate' ? key.slice('translate:'.length) : null;
    setEnrichments(jobId, [
      {
        key,
        kind,
        targetLanguage,
        status: 'queued',
        progress: 0,
        piecesDone: 0,
        piecesTotal: null,
      },
    ]);
    entry = tabs.byKey.get(key)!;
  }
  const e = entry.data;
  const status = event.type.slice('enrichment.'.length);
  // A job opened from the list replays its stream from the start over the state the API
  // gave: an old event must not take a finished enrichment back (only a canceled one
  // comes back, queued again when its job is retried).
  const finished = e.status === 'completed' || e.status === 'failed';
  if (finished && !TERMINAL_ENRICHMENT.includes(status)) return false;
  if (status === 'progress') {
    Object.assign(e, {
      status: 'processing',
      progress: event.progress ?? e.progress,
      piecesDone: event.piecesDone,
      piecesTotal: event.piecesTotal,
      etaS,
    });
  } else {
    e.status = status;
    e.etaS = undefined;
    if (status === 'processing' || status === 'queued') e.progress = 0;
    if (status === 'failed') e.error = event.error ?? null;
    if (status === 'completed')
      Object.assign(e, { model: event.model, processingMs: event.processingMs });
  }
  drawEntry(entry);
  return status !== 'progress' && status !== 'processing';
}

/** Whether every enrichment of the open job has finished (or it has none). */
export function enrichmentsSettled(): boolean {
  return [...tabs.byKey.values()].every((entry) => TERMINAL_ENRICHMENT.includes(entry.data.status));
}

/** The tab list's keys, as WAI-ARIA describes: arrows move between tabs, Home/End to the ends. */
export function wireTabKeys(): void {
  byId('tabs').addEventListener('keydown', (event) => {
    const all = [...byId('tabs').querySelectorAll<HTMLElement>('[role=tab]')];
    const at = all.findIndex((t) => t.dataset.key === tabs.active);
    const to = {
      ArrowRight: (at + 1) % all.length,
      ArrowLeft: (at - 1 + all.length) % all.length,
      Home: 0,
      End: all.length - 1,
    }[event.key];
    const target = to === undefined ? undefined : all[to];
    if (!target?.dataset.key) return;
    event.preventDefault();
    selectTab(target.dataset.key);
    target.focus();
  });
}
