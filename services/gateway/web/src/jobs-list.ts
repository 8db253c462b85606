// Every job of the tenant, newest first: filters (status, created between two dates),
// pages by cursor, live status and progress from the tenant's event stream, and cancel /
// retry / delete behind a confirmation.
import { api, apiJson } from './api.js';
import { byId, h } from './dom.js';
import { eventText, jobText } from './status-text.js';
import { TERMINAL, type Job, type JobEvent } from './types.js';

const PAGE = 10;

interface Row {
  job: Job;
  tr: HTMLTableRowElement;
  status: HTMLElement;
  bar: HTMLProgressElement;
  actions: HTMLElement;
}

const rows = new Map<string, Row>();
/** Cursors of the pages before this one (the first page's is ''), and this page's. */
let cursors: string[] = [];
let cursor = '';
let nextCursor: string | null = null;
let onError: (message: string) => void = () => undefined;
let onDeleted: (jobId: string) => void = () => undefined;

export function initJobsList(options: {
  onError(message: string): void;
  onDeleted(jobId: string): void;
}): void {
  onError = options.onError;
  onDeleted = options.onDeleted;
  byId('filters').addEventListener('change', () => {
    cursors = [];
    cursor = '';
    void loadJobs();
  });
  byId('filters').addEventListener('submit', (e) => e.preventDefault());
  byId('older').addEventListener('click', () => {
    if (!nextCursor) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void loadJobs();
  });
  byId('newer').addEventListener('click', () => {
    cursor = cursors.pop() ?? '';
    void loadJobs();
  });
  byId('refresh').addEventListener('click', () => void loadJobs());
}

function query(): string {
  const params = new URLSearchParams({ limit: String(PAGE) });
  const status = byId<HTMLSelectElement>('filter-status').value;
  if (status) params.set('status', status);
  const from = byId<HTMLInputElement>('filter-from').value;
  const to = byId<HTMLInputElement>('filter-to').value;
  // Local days: from the start of `from` to the end of `to`.
  if (from) params.set('createdAfter', new Date(`${from}T00:00:00`).toISOString());
  if (to) params.set('createdBefore', new Date(`${to}T23:59:59.999`).toISOString());
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

export async function loadJobs(): Promise<void> {
  try {
    const page = await apiJson<{ data: Job[]; nextCursor: string | null }>(`/v1/jobs?${query()}`);
    nextCursor = page.nextCursor;
    rows.clear();
    byId('jobs').replaceChildren(...page.data.map((job) => makeRow(job).tr));
    byId('jobs-empty').hidden = page.data.length > 0;
    byId<HTMLButtonElement>('older').disabled = !nextCursor;
    byId<HTMLButtonElement>('newer').disabled = cursors.length === 0;
    byId('page-note').textContent = cursors.length ? `page ${cursors.length + 1}` : '';
    onError('');
  } catch (error) {
    onError((error as Error).message);
  }
}

function makeRow(job: Job): Row {
  const link = h('a', { href: `#/jobs/${job.id}`, class: 'job-link' }, job.filename);
  const status = h('span', { class: 'job-status' });
  const bar = h('progress', { max: 100, 'aria-label': `${job.filename} progress` });
  const actions = h('td', { class: 'actions' });
  const tr = h(
    'tr',
    {},
    h('td', { class: 'file' }, link),
    h('td', { class: 'state' }, status, bar),
    h('td', { class: 'created' }, new Date(job.createdAt).toLocaleString()),
    actions,
  );
  tr.dataset.job = job.id;
  const row: Row = { job, tr, status, bar, actions };
  rows.set(job.id, row);
  draw(row);
  return row;
}

function draw(row: Row, line?: string): void {
  const { job } = row;
  row.tr.dataset.status = job.status;
  row.status.textContent = line ?? jobText(job);
  row.bar.hidden = job.status !== 'processing' && job.status !== 'queued';
  row.bar.value = job.progress;
  const buttons: HTMLButtonElement[] = [];
  const action = (label: string, run: () => Promise<void>) => {
    const b = h('button', { type: 'button', 'aria-label': `${label} ${job.filename}` }, label);
    b.dataset.action = label.toLowerCase();
    b.onclick = () => void run();
    buttons.push(b);
  };
  if (!TERMINAL.includes(job.status)) action('Cancel', () => act(row, 'cancel'));
  if (job.status === 'failed' || job.status === 'canceled')
    action('Retry', () => act(row, 'retry'));
  action('Delete', () => act(row, 'delete'));
  row.actions.replaceChildren(...buttons);
}

const ASK: Record<string, (name: string) => string> = {
  cancel: (n) => `Cancel the transcription of “${n}”?`,
  retry: (n) => `Transcribe “${n}” again?`,
  delete: (n) => `Delete “${n}”, its transcript and its recording? This cannot be undone.`,
};

const VERB: Record<string, string> = { cancel: 'Cancel job', retry: 'Retry', delete: 'Delete' };

async function act(row: Row, what: 'cancel' | 'retry' | 'delete'): Promise<void> {
  if (!(await confirmDialog(ASK[what]!(row.job.filename), VERB[what]!))) return;
  try {
    if (what === 'delete') {
      await api(`/v1/jobs/${row.job.id}`, { method: 'DELETE' });
      row.tr.remove();
      rows.delete(row.job.id);
      onDeleted(row.job.id);
      return;
    }
    await api(`/v1/jobs/${row.job.id}/${what}`, { method: 'POST' });
    await refreshRow(row.job.id);
  } catch (error) {
    onError((error as Error).message);
  }
}

/** A modal `<dialog>`: focus stays in it, Escape says no. Resolves true on yes. */
function confirmDialog(message: string, verb: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-text').textContent = message;
  byId('confirm-yes').textContent = verb;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}

export async function refreshRow(jobId: string): Promise<void> {
  const row = rows.get(jobId);
  if (!row) return;
  try {
    row.job = await apiJson<Job>(`/v1/jobs/${jobId}`);
    draw(row);
  } catch {
    // gone meanwhile: the next load drops it
  }
}

let reloadSoon: ReturnType<typeof setTimeout> | undefined;

/** A tenant stream event: its row moves live; a job not on this page reloads the first page. */
export function applyTenantEvent(event: JobEvent, etaS: number | undefined): void {
  const row = rows.get(event.jobId);
  if (!row) {
    if (!cursor && event.type === 'queued') {
      clearTimeout(reloadSoon);
      reloadSoon = setTimeout(() => void loadJobs(), 300);
    }
    return;
  }
  if (event.type.startsWith('enrichment.')) return;
  const job = row.job;
  if (event.type === 'progress') {
    job.status = 'processing';
    job.progress = event.progress ?? job.progress;
  } else if (event.type === 'position') {
    job.queuePosition = event.position ?? null;
    job.estimatedStartAt = event.estimatedStartAt ?? null;
  } else if (['queued', 'processing', 'completed', 'failed', 'canceled'].includes(event.type)) {
    job.status = event.type as Job['status'];
    if (event.type === 'completed') job.progress = 100;
    if (event.type === 'failed') job.error = event.error ?? null;
    if (event.type === 'completed' || event.type === 'failed') void refreshRow(job.id);
  }
  draw(row, event.type === 'partial' ? undefined : eventText(event, etaS));
}
