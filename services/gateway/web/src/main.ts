// The web app's entry: the API key (kept in this browser), the upload drop zone, the jobs
// list on the tenant's live stream, and the open job (#/jobs/<id>) beside them.
import './../app.css';
import { storedKey, storeKey } from './api.js';
import { byId } from './dom.js';
import { wireTabKeys } from './enrichments.js';
import { closeJob, openJob, openJobId, whenJobChanges } from './job-panel.js';
import { applyTenantEvent, initJobsList, loadJobs, refreshRow } from './jobs-list.js';
import { eventText } from './status-text.js';
import { followTenant, type Stream } from './streams.js';
import { applySearch, copyTranscript } from './transcript-view.js';
import type { Job, UiConfig } from './types.js';
import { applyUploadEvent, initUpload } from './upload.js';

let config: UiConfig = { enrichments: { available: false, kinds: [] } };
let tenant: Stream | null = null;

function showError(message: string): void {
  byId('error').textContent = message;
  byId('error').hidden = !message;
}

async function loadConfig(): Promise<void> {
  try {
    config = (await (await fetch('/ui/config.json')).json()) as UiConfig;
  } catch {
    // the defaults: no enrichments offered
  }
  const fieldset = byId<HTMLFieldSetElement>('enrich');
  fieldset.hidden = !config.enrichments.available;
  // A disabled fieldset is left out of validation and of `enrich`.
  fieldset.disabled = !config.enrichments.available;
}

/** The form's options for each job: language, priority and the enrichments ticked. */
function jobOptions(): Record<string, unknown> {
  const options: Record<string, unknown> = {
    language: byId<HTMLInputElement>('language').value.trim() || 'en',
    priority: byId<HTMLSelectElement>('priority').value,
  };
  if (!byId<HTMLFieldSetElement>('enrich').disabled) {
    const enrich: unknown[] = [
      ...document.querySelectorAll<HTMLInputElement>('#enrich input[name=enrich]:checked'),
    ].map((box) => box.value);
    const target = byId<HTMLInputElement>('target').value.trim();
    if (byId<HTMLInputElement>('translate').checked && target) enrich.push({ translate: target });
    if (enrich.length) options.enrich = enrich;
  }
  return options;
}

/** With a key: the list, and the tenant's stream moving it live. */
function start(): void {
  tenant?.close();
  tenant = null;
  const hasKey = Boolean(storedKey());
  byId('key-state').textContent = hasKey ? 'A key is saved in this browser.' : 'No key yet.';
  byId('forget').hidden = !hasKey;
  byId('app').classList.toggle('locked', !hasKey);
  if (!hasKey) return;
  void loadJobs();
  const base = config.events?.url;
  if (base) {
    tenant = followTenant(
      base,
      (event, etaS) => {
        applyTenantEvent(event, etaS);
        applyUploadEvent(event.jobId, event.type, event.progress, eventText(event, etaS));
      },
      () => void loadJobs(),
    );
  }
}

function route(): void {
  const id = /^#\/jobs\/([0-9a-f-]{36})$/.exec(location.hash)?.[1];
  if (id && id !== openJobId()) {
    void openJob(id);
    // On a phone the panel is above the list: bring it into view.
    byId('current').scrollIntoView({ block: 'start' });
  }
  if (!id && openJobId()) closeJob();
}

byId('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  storeKey(byId<HTMLInputElement>('key').value.trim());
  byId<HTMLInputElement>('key').value = '';
  start();
});
byId('forget').addEventListener('click', () => {
  storeKey('');
  closeJob();
  byId('jobs').replaceChildren();
  start();
});
byId('target').addEventListener('input', () => {
  byId<HTMLInputElement>('translate').checked =
    byId<HTMLInputElement>('target').value.trim() !== '';
});
byId('search').addEventListener('input', applySearch);
byId('copy').addEventListener('click', async () => {
  byId('copy-note').textContent = await copyTranscript();
});
byId('close-job').addEventListener('click', () => {
  history.pushState(null, '', location.pathname);
  closeJob();
});
window.addEventListener('hashchange', route);
wireTabKeys();
initJobsList({
  onError: showError,
  onDeleted: (jobId) => {
    if (openJobId() === jobId) location.hash = '';
  },
});
whenJobChanges((jobId) => void refreshRow(jobId));
await loadConfig();
initUpload({
  maxBytes: config.upload?.maxBytes ?? null,
  jobOptions,
  // The list shows it when the tenant stream says `queued`; without a stream, reload now.
  onQueued: (_job: Job) => {
    if (!tenant) void loadJobs();
  },
});
start();
route();
