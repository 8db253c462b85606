// The open job: its title, status line, progress bar, activity log and tabs (transcript
// and enrichments). One session per opened job: everything asynchronous — the stream, a
// fetch answering late — checks it is still the open session before touching the page,
// so job B's panel can never show job A's events.
import { apiJson } from './api.js';
import { byId, h } from './dom.js';
import { applyEnrichmentEvent, enrichmentsSettled, setEnrichments } from './enrichments.js';
import { eventText, jobText } from './status-text.js';
import { followJob, type Stream } from './streams.js';
import { clearTranscript, showPartial, showTranscript } from './transcript-view.js';
import { TERMINAL, type Job, type JobEvent } from './types.js';

interface Session {
  jobId: string;
  stream: Stream | null;
  status: string;
}

let session: Session | null = null;
let onJobChanged: (jobId: string) => void = () => undefined;

export function whenJobChanges(handler: (jobId: string) => void): void {
  onJobChanged = handler;
}

export function openJobId(): string | null {
  return session?.jobId ?? null;
}

export function closeJob(): void {
  session?.stream?.close();
  session = null;
  byId('current').hidden = true;
  delete byId('current').dataset.job;
  clearTranscript();
}

/** Opens a job by id (a link in the list, an upload just made); `known` saves a fetch. */
export async function openJob(jobId: string, known?: Job): Promise<void> {
  closeJob();
  const me: Session = { jobId, stream: null, status: '' };
  session = me;
  const live = () => session === me;
  const panel = byId('current');
  panel.dataset.job = jobId;
  delete panel.dataset.seq;
  byId('events').replaceChildren();
  byId('title').textContent = known?.filename ?? '…';
  byId('status').textContent = 'loading…';
  byId<HTMLProgressElement>('bar').hidden = true;
  panel.hidden = false;
  let job: Job;
  try {
    job = await apiJson<Job>(`/v1/jobs/${jobId}`);
  } catch (error) {
    if (!live()) return;
    // Nothing known about the job: no bar, only why.
    byId('status').textContent = (error as Error).message;
    return;
  }
  if (!live()) return;
  me.status = job.status;
  byId('title').textContent = job.filename;
  drawJob(job);
  setEnrichments(job.id, job.enrichments);
  if (job.status === 'completed') void loadTranscript(me);
  if (!TERMINAL.includes(job.status) || !enrichmentsSettled()) {
    me.stream = followJob(job.links.events, known?.eventsToken, (event, etaS) => {
      if (live()) onEvent(me, event, etaS);
    });
  }
}

function drawJob(job: Job): void {
  const bar = byId<HTMLProgressElement>('bar');
  bar.hidden = TERMINAL.includes(job.status) && job.status !== 'completed';
  bar.value = job.status === 'completed' ? 100 : job.progress;
  byId('status').textContent = jobText(job);
}

function onEvent(me: Session, event: JobEvent, etaS: number | undefined): void {
  if (event.jobId !== me.jobId) return;
  byId('current').dataset.seq = String(event.seq);
  const log = h(
    'li',
    {},
    `${event.seq} ${event.type}${event.enrichment ? ` ${event.enrichment.key}` : ''}`,
  );
  log.dataset.job = event.jobId;
  byId('events').append(log);
  if (event.type.startsWith('enrichment.')) {
    if (applyEnrichmentEvent(me.jobId, event, etaS)) void reloadEnrichments(me);
  } else {
    const text = eventText(event, etaS);
    if (text) byId('status').textContent = text;
    const bar = byId<HTMLProgressElement>('bar');
    if (event.type === 'progress') {
      bar.hidden = false;
      bar.value = event.progress ?? 0;
    } else if (event.type === 'partial' && event.segments) {
      showPartial(me.jobId, event.segments);
    } else if (['queued', 'processing', 'completed', 'failed', 'canceled'].includes(event.type)) {
      me.status = event.type;
      if (event.type === 'completed') {
        bar.value = 100;
        void loadTranscript(me);
      }
      if (event.type === 'failed' || event.type === 'canceled') bar.hidden = true;
      if (event.type === 'queued' || event.type === 'processing') bar.hidden = false;
      onJobChanged(me.jobId);
    }
  }
  if (TERMINAL.includes(me.status) && enrichmentsSettled()) {
    me.stream?.close();
    me.stream = null;
  }
}

let transcriptFor: Session | null = null;

async function loadTranscript(me: Session): Promise<void> {
  if (transcriptFor === me) return; // a replayed `completed`
  transcriptFor = me;
  try {
    await showTranscript(me.jobId, () => session === me);
  } catch (error) {
    if (session === me) byId('status').textContent = (error as Error).message;
  }
}

async function reloadEnrichments(me: Session): Promise<void> {
  try {
    const fresh = await apiJson<Job>(`/v1/jobs/${me.jobId}`);
    if (session === me) setEnrichments(me.jobId, fresh.enrichments);
  } catch {
    // the stream goes on; the next event tries again
  }
}
