// The gateway's small web UI: upload a recording through the gateway, follow its events
// live over the notifier's WebSocket (resuming after a drop), show and download the result,
// and the enrichments made from it (tabs: enrichments.js; their markdown: markdown.js).
// Plain browser JavaScript, no build step; the page's CSP allows only scripts from here.
'use strict';

const $ = (id) => document.getElementById(id);
const keyInput = $('key');
keyInput.value = localStorage.getItem('transcribe.key') || '';

function apiKey() {
  const key = keyInput.value.trim();
  localStorage.setItem('transcribe.key', key);
  return key;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${apiKey()}`, ...(init.headers || {}) },
  });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const error =
      body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`;
    throw new Error(error);
  }
  return res;
}

/** multipart/form-data through the gateway, with upload progress (fetch has none). */
function uploadForm(form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/jobs/upload');
    xhr.setRequestHeader('authorization', `Bearer ${apiKey()}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: reported by status below
      }
      if (xhr.status === 202) resolve(body);
      else
        reject(
          new Error(
            body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${xhr.status}`,
          ),
        );
    };
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(form);
  });
}

const tabs = window.enrichmentTabs;
tabs.use(api);

/** Offers enrichments on the upload form when this gateway has a chat engine. */
async function loadConfig() {
  try {
    const config = await (await fetch('/ui/config.json')).json();
    offerEnrichments(Boolean(config.enrichments && config.enrichments.available));
  } catch {
    offerEnrichments(false);
  }
}

function offerEnrichments(available) {
  $('enrich').hidden = !available;
  // A disabled fieldset is left out of the form's validation (its pattern) and of `enrich`.
  $('enrich').disabled = !available;
}

/** The form's enrichments, as `enrich` on job creation: "clean", …, {"translate": "de"}. */
function enrichList() {
  if ($('enrich').disabled) return [];
  const list = [...document.querySelectorAll('#enrich input[name=enrich]:checked')].map(
    (box) => box.value,
  );
  const target = $('target').value.trim();
  if ($('translate').checked && target) list.push({ translate: target });
  return list;
}

const JOB_TERMINAL = ['completed', 'failed', 'canceled'];
/** The stream of the job on screen: its socket, and whether it is still wanted. */
let following = null;

function stopFollowing() {
  if (!following) return;
  following.stopped = true;
  if (following.socket) following.socket.close(1000);
  following = null;
}

/**
 * Follows one job; reconnects with `after` = the last seq seen, so nothing is missed or
 * repeated. Enrichment events come after the job's `completed` on the same stream, so it
 * ends only when the job has ended and so has every enrichment of it. Opening another job
 * stops it: a stopped stream neither reconnects nor touches the page.
 */
function follow(job) {
  stopFollowing();
  const me = { stopped: false, socket: null };
  following = me;
  const eventsUrl = new URL(job.links.events);
  eventsUrl.searchParams.delete('token');
  let lastSeq = 0;
  let jobStatus = job.status;
  const connect = () => {
    if (me.stopped) return;
    eventsUrl.searchParams.set('after', String(lastSeq));
    // Credentials as a subprotocol: browsers cannot set headers, and a query string may be logged.
    const credential = job.eventsToken ? `token.${job.eventsToken}` : `key.${apiKey()}`;
    const ws = new WebSocket(eventsUrl, ['transcribe.v1', credential]);
    me.socket = ws;
    ws.onmessage = (message) => {
      if (me.stopped) return;
      const frame = JSON.parse(message.data);
      if (frame.kind !== 'event') return;
      const event = frame.event;
      lastSeq = event.seq;
      // Where the page is in the job's stream (for tests and the curious: devtools).
      $('current').dataset.seq = String(lastSeq);
      if (!event.type.startsWith('enrichment.')) jobStatus = event.type;
      onEvent(job, event, frame.etaS);
      if (JOB_TERMINAL.includes(jobStatus) && tabs.settled()) stopFollowing();
    };
    ws.onclose = (close) => {
      if (me.stopped || close.code === 4401 || close.code === 4404) return;
      setTimeout(connect, 1000);
    };
  };
  connect();
}

function onEvent(job, event, etaS) {
  const status = $('status');
  if (event.type.startsWith('enrichment.')) {
    // A new or finished enrichment: re-read the job for its full view (formats, error).
    if (tabs.apply(job.id, event, etaS)) void reloadEnrichments(job.id);
  } else if (event.type === 'progress') {
    $('bar').value = event.progress;
    status.textContent = `${event.stage} ${Math.round(event.progress)}%${etaS !== undefined ? `, about ${Math.ceil(etaS)} s left` : ''}`;
  } else if (event.type === 'completed') {
    $('bar').value = 100;
    status.textContent = `completed: ${event.durationS ? event.durationS.toFixed(1) : '?'} s of audio in ${(event.processingMs / 1000).toFixed(1)} s`;
    showTranscript(job.id);
    refreshJobs();
  } else if (event.type === 'failed') {
    status.textContent = `failed: ${event.error.code}: ${event.error.message}`;
    refreshJobs();
  } else {
    status.textContent = event.type;
  }
}

async function reloadEnrichments(jobId) {
  try {
    const fresh = await (await api(`/v1/jobs/${jobId}`)).json();
    tabs.set(jobId, fresh.enrichments);
  } catch (error) {
    showError(error.message);
  }
}

let transcriptShown = null;

async function showTranscript(jobId) {
  if (transcriptShown === jobId) return; // a replayed `completed`
  transcriptShown = jobId;
  const text = await (await api(`/v1/jobs/${jobId}/transcript?format=txt`)).text();
  $('transcript').textContent = text;
  $('result').hidden = false;
  for (const link of document.querySelectorAll('#transcript-downloads a')) {
    link.onclick = async (e) => {
      e.preventDefault();
      const format = link.dataset.format;
      const blob = await (await api(`/v1/jobs/${jobId}/transcript?format=${format}`)).blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${jobId}.${format}`;
      a.click();
      URL.revokeObjectURL(a.href);
    };
  }
}

async function openJob(listed) {
  stopFollowing();
  $('current').hidden = false;
  $('result').hidden = true;
  transcriptShown = null;
  $('title').textContent = listed.filename;
  let job = listed;
  try {
    job = await (await api(`/v1/jobs/${listed.id}`)).json();
  } catch (error) {
    showError(error.message);
  }
  $('bar').value = job.progress;
  $('status').textContent = job.status;
  tabs.set(job.id, job.enrichments);
  if (job.status === 'completed') void showTranscript(job.id);
  // A listed job carries no events token (only creation returns one): follow it with the key.
  if (!JOB_TERMINAL.includes(job.status) || !tabs.settled()) follow(job);
  else stopFollowing();
}

async function refreshJobs() {
  if (!keyInput.value.trim()) return;
  try {
    const { data } = await (await api('/v1/jobs?limit=10')).json();
    const rows = $('jobs');
    rows.replaceChildren(
      ...data.map((job) => {
        const tr = document.createElement('tr');
        const name = document.createElement('td');
        const link = document.createElement('a');
        link.textContent = job.filename;
        link.onclick = () => openJob(job);
        name.append(link);
        const status = document.createElement('td');
        status.textContent = job.error ? `${job.status} (${job.error.code})` : job.status;
        const created = document.createElement('td');
        created.textContent = new Date(job.createdAt).toLocaleString();
        tr.append(name, status, created);
        return tr;
      }),
    );
    showError('');
  } catch (error) {
    showError(error.message);
  }
}

$('upload').addEventListener('submit', async (e) => {
  e.preventDefault();
  showError('');
  const file = $('file').files[0];
  if (!file) return;
  stopFollowing();
  const form = new FormData();
  form.append('language', $('language').value.trim() || 'en');
  form.append('priority', $('priority').value);
  const enrich = enrichList();
  if ($('translate').checked && !$('target').value.trim() && !$('enrich').disabled) {
    showError('name the language to translate to, e.g. de');
    return;
  }
  // A JSON string, like metadata: form fields are text.
  if (enrich.length) form.append('enrich', JSON.stringify(enrich));
  form.append('file', file, file.name);
  $('current').hidden = false;
  $('result').hidden = true;
  transcriptShown = null;
  $('title').textContent = file.name;
  try {
    const job = await uploadForm(form, (f) => {
      $('bar').value = f * 100;
      $('status').textContent = `uploading ${Math.round(f * 100)}%`;
    });
    $('bar').value = 0;
    tabs.set(job.id, job.enrichments);
    follow(job);
    refreshJobs();
  } catch (error) {
    showError(error.message);
    $('status').textContent = '';
  }
});
$('refresh').addEventListener('click', refreshJobs);
$('target').addEventListener(
  'input',
  () => ($('translate').checked = $('target').value.trim() !== ''),
);
void loadConfig();
refreshJobs();
