// Recordings dropped (or chosen), each uploaded straight to S3 on a presigned URL — one PUT,
// or parts of a multipart upload for big files — with its own progress, speed and cancel,
// then queued as a job with the form's options. Every refusal says why: the type or size
// (checked here before a byte is sent), the key, the quota (the API's answers).
import { api, apiJson } from './api.js';
import { byId, formatBytes, h } from './dom.js';
import type { Job } from './types.js';

/** The accepted extensions and the media type each one declares (packages/contracts). */
const CONTENT_TYPE_BY_EXTENSION: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  webm: 'audio/webm',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
};
/** Files from this size go in parts: a dropped connection costs one part, not the file. */
const MULTIPART_FROM_BYTES = 64 * 1024 ** 2;
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PART_BYTES = 64 * 1024 ** 2;

/** The multipart threshold; localStorage `transcribe.multipartFromBytes` lowers it (tests, a flaky link). */
function multipartFrom(): number {
  const set = Number(localStorage.getItem('transcribe.multipartFromBytes'));
  return set > 0 ? set : MULTIPART_FROM_BYTES;
}

/** About four parts, within S3's 5 MiB minimum and a 64 MiB cap. */
function partBytesFor(size: number): number {
  return Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, Math.ceil(size / 4)));
}

export interface UploadOptions {
  maxBytes: number | null;
  /** The job options of the form: language, priority, enrich. */
  jobOptions(): Record<string, unknown>;
  onQueued(job: Job): void;
}

interface Item {
  file: File;
  row: HTMLElement;
  bar: HTMLProgressElement;
  line: HTMLElement;
  cancel: HTMLButtonElement;
  aborted: boolean;
  xhr: XMLHttpRequest | null;
  uploadId: string | null;
  jobId: string | null;
}

const byJob = new Map<string, Item>();

export function initUpload(options: UploadOptions): void {
  const zone = byId('dropzone');
  const input = byId<HTMLInputElement>('files');
  const take = (files: FileList | null) => {
    for (const file of files ?? []) void start(file, options);
  };
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  input.addEventListener('change', () => {
    take(input.files);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    take(e.dataTransfer?.files ?? null);
  });
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Why a file is refused before sending it, or null. */
function refusal(file: File, maxBytes: number | null): string | null {
  if (!CONTENT_TYPE_BY_EXTENSION[extensionOf(file.name)]) {
    return `Not a recording this server accepts: “${file.name}”. Send mp3, wav, flac, m4a, aac, ogg, opus, webm, mp4 or mov.`;
  }
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (maxBytes !== null && file.size > maxBytes) {
    const [size, max] = [formatBytes(file.size), formatBytes(maxBytes)];
    // Exact bytes when the rounded sizes read alike.
    return size === max
      ? `Too big: “${file.name}” is ${file.size} bytes; this server takes up to ${maxBytes} bytes.`
      : `Too big: “${file.name}” is ${size}; this server takes up to ${max}.`;
  }
  return null;
}

function makeItem(file: File): Item {
  const bar = h('progress', { max: 100, value: 0, 'aria-label': `${file.name} upload` });
  const line = h('span', { class: 'upload-line', 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', 'aria-label': `Cancel ${file.name}` }, 'Cancel');
  const row = h(
    'li',
    { class: 'upload' },
    h('span', { class: 'upload-name' }, file.name),
    bar,
    line,
    cancel,
  );
  row.dataset.name = file.name;
  byId('uploads').prepend(row);
  return { file, row, bar, line, cancel, aborted: false, xhr: null, uploadId: null, jobId: null };
}

function fail(item: Item, message: string): void {
  item.row.dataset.state = 'refused';
  item.line.textContent = message;
  item.line.setAttribute('role', 'alert');
  item.bar.hidden = true;
  item.cancel.textContent = 'Dismiss';
  item.cancel.setAttribute('aria-label', `Dismiss ${item.file.name}`);
  item.cancel.onclick = () => item.row.remove();
}

async function start(file: File, options: UploadOptions): Promise<void> {
  const item = makeItem(file);
  const refused = refusal(file, options.maxBytes);
  if (refused) return fail(item, refused);
  item.row.dataset.state = 'uploading';
  item.cancel.onclick = () => void abort(item);
  const contentType = CONTENT_TYPE_BY_EXTENSION[extensionOf(file.name)]!;
  // Parts carry SHA-256 checksums: crypto.subtle exists only in a secure context (https, localhost).
  const multipart =
    file.size >= multipartFrom() && file.size > MIN_PART_BYTES && Boolean(crypto.subtle);
  const partBytes = partBytesFor(file.size);
  const began = performance.now();
  const progress = (sent: number) => {
    const seconds = (performance.now() - began) / 1000;
    // A speed from the first fifth of a second is noise; once all is sent it is the
    // average, however fast that was (a loopback upload can be done within 0.2 s).
    const speed =
      seconds > 0.2 || (sent === file.size && seconds > 0)
        ? `, ${formatBytes(sent / seconds)}/s`
        : '';
    item.bar.value = (sent / file.size) * 100;
    item.line.textContent = `${formatBytes(sent)} of ${formatBytes(file.size)}${speed}`;
  };
  try {
    item.line.textContent = 'starting…';
    const upload = await apiJson<{
      uploadId: string;
      url?: string;
      headers?: Record<string, string>;
      partSizeBytes?: number;
    }>('/v1/uploads', {
      method: 'POST',
      body: JSON.stringify({
        filename: file.name,
        contentType,
        sizeBytes: file.size,
        method: multipart ? 'multipart' : 'PUT',
        ...(multipart ? { partSizeBytes: partBytes } : {}),
      }),
    });
    item.uploadId = upload.uploadId;
    if (item.aborted) return;
    if (multipart)
      await sendParts(item, upload.uploadId, upload.partSizeBytes ?? partBytes, progress);
    else await put(item, upload.url!, upload.headers ?? {}, file, progress);
    if (item.aborted) return;
    item.line.textContent = 'queuing…';
    item.cancel.hidden = true;
    const job = await apiJson<Job>('/v1/jobs', {
      method: 'POST',
      headers: { 'idempotency-key': upload.uploadId },
      body: JSON.stringify({ uploadId: upload.uploadId, ...options.jobOptions() }),
    });
    item.jobId = job.id;
    item.row.dataset.job = job.id;
    item.row.dataset.state = 'queued';
    item.row.dataset.method = multipart ? 'multipart' : 'PUT';
    item.bar.value = 0;
    item.line.replaceChildren(h('a', { href: `#/jobs/${job.id}` }, 'queued'));
    byJob.set(job.id, item);
    options.onQueued(job);
  } catch (error) {
    if (!item.aborted) fail(item, (error as Error).message);
  }
}

/** One PUT with upload progress (fetch reports none). */
function put(
  item: Item,
  url: string,
  headers: Record<string, string>,
  body: Blob,
  progress: (sent: number) => void,
  offset = 0,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => progress(offset + e.loaded);
    progress(offset);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(offset + body.size);
        resolve(xhr.getResponseHeader('etag'));
      } else reject(new Error(`storage refused the upload (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error('the upload to storage failed (network error)'));
    xhr.onabort = () => reject(new Error('canceled'));
    xhr.send(body);
  });
}

async function sha256(blob: Blob): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Multipart: each part's checksum signed into its URL, parts one after another, then complete. */
async function sendParts(
  item: Item,
  uploadId: string,
  partBytes: number,
  progress: (sent: number) => void,
): Promise<void> {
  const done: { partNumber: number; etag: string; checksumSha256: string }[] = [];
  for (let offset = 0, partNumber = 1; offset < item.file.size; offset += partBytes, partNumber++) {
    if (item.aborted) return;
    const blob = item.file.slice(offset, offset + partBytes);
    const checksumSha256 = await sha256(blob);
    const { parts } = await apiJson<{
      parts: { partNumber: number; url: string; headers: Record<string, string> }[];
    }>(`/v1/uploads/${uploadId}/parts`, {
      method: 'POST',
      body: JSON.stringify({ parts: [{ partNumber, checksumSha256 }] }),
    });
    const part = parts[0]!;
    const etag = await put(item, part.url, part.headers, blob, progress, offset);
    if (!etag) throw new Error('storage did not expose the ETag header (its CORS settings)');
    done.push({ partNumber, etag, checksumSha256 });
  }
  await api(`/v1/uploads/${uploadId}/complete`, {
    method: 'POST',
    body: JSON.stringify({ parts: done }),
  });
}

async function abort(item: Item): Promise<void> {
  item.aborted = true;
  item.xhr?.abort();
  item.row.dataset.state = 'canceled';
  item.bar.hidden = true;
  item.line.textContent = 'upload canceled';
  item.cancel.textContent = 'Dismiss';
  item.cancel.onclick = () => item.row.remove();
  if (item.uploadId)
    await api(`/v1/uploads/${item.uploadId}`, { method: 'DELETE' }).catch(() => undefined);
}

/** The tenant stream's word on an uploaded file's job: its row follows it to the end. */
export function applyUploadEvent(
  jobId: string,
  type: string,
  progress: number | undefined,
  line: string | undefined,
): void {
  const item = byJob.get(jobId);
  if (!item || type.startsWith('enrichment.')) return;
  if (type === 'progress') {
    item.bar.hidden = false;
    item.bar.value = progress ?? 0;
  }
  if (['completed', 'failed', 'canceled'].includes(type)) {
    item.bar.hidden = type !== 'completed';
    item.bar.value = 100;
    item.row.dataset.state = type;
  }
  if (line) item.line.replaceChildren(h('a', { href: `#/jobs/${jobId}` }, line));
}
