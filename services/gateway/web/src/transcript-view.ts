// The transcript beside its recording: a player on a presigned link to the original
// (`GET /v1/jobs/:id/media`), the segments (with speakers where known) as a list where a
// click or Enter seeks the player, the segment and word being played highlighted, a search
// that narrows the list, downloads of txt/srt/vtt/json and a copy button.
import { ApiError, api, apiJson } from './api.js';
import { byId, formatClock, h, saveBlob } from './dom.js';
import type { Segment, Transcript, Word } from './types.js';

interface Shown {
  jobId: string;
  segments: { seg: Segment; el: HTMLElement; words: { w: Word; el: HTMLElement }[] }[];
  text: string;
  player: HTMLMediaElement | null;
  current: number;
  currentWord: HTMLElement | null;
  frame: number;
}

let shown: Shown | null = null;

/** Empties the view (another job opened); stops and drops the player. */
export function clearTranscript(): void {
  if (shown) cancelAnimationFrame(shown.frame);
  shown?.player?.pause();
  shown = null;
  byId('player-box').replaceChildren();
  byId('transcript').replaceChildren();
  byId('media-note').hidden = true;
  byId<HTMLInputElement>('search').value = '';
  byId('search-count').textContent = '';
  byId('result').hidden = true;
}

/** Segments that arrived in `partial` events, shown while the job still runs. */
export function showPartial(jobId: string, segments: Segment[]): void {
  if (shown && shown.jobId !== jobId) return;
  if (!shown)
    shown = {
      jobId,
      segments: [],
      text: '',
      player: null,
      current: -1,
      currentWord: null,
      frame: 0,
    };
  const all = [...shown.segments.map((s) => s.seg), ...segments].sort((a, b) => a.start - b.start);
  drawSegments(shown, all, []);
  byId('transcript').classList.add('partial');
  byId('result').hidden = false;
}

/** Loads and shows a completed job's transcript and its player; `isCurrent` guards a switch meanwhile. */
export async function showTranscript(jobId: string, isCurrent: () => boolean): Promise<void> {
  const transcript = await apiJson<Transcript>(`/v1/jobs/${jobId}/transcript?format=json`);
  if (!isCurrent()) return;
  if (shown) cancelAnimationFrame(shown.frame);
  shown = {
    jobId,
    segments: [],
    text: transcript.text,
    player: null,
    current: -1,
    currentWord: null,
    frame: 0,
  };
  const me = shown;
  byId('transcript').classList.remove('partial');
  drawSegments(me, transcript.segments, transcript.words ?? []);
  wireDownloads(jobId);
  byId('result').hidden = false;
  try {
    const media = await apiJson<{ url: string; contentType: string }>(`/v1/jobs/${jobId}/media`);
    if (!isCurrent() || shown !== me) return;
    const player = h(media.contentType.startsWith('video/') ? 'video' : 'audio', {
      id: 'player',
      controls: true,
      preload: 'metadata',
      src: media.url,
    });
    me.player = player;
    player.addEventListener('play', () => track(me));
    player.addEventListener('seeked', () => highlight(me));
    byId('player-box').replaceChildren(player);
  } catch (error) {
    const note = byId('media-note');
    note.textContent =
      error instanceof ApiError && error.code === 'object_missing'
        ? 'The recording is no longer stored; the transcript is all that is left.'
        : `The recording cannot be played: ${(error as Error).message}`;
    note.hidden = false;
  }
}

function drawSegments(me: Shown, segments: Segment[], words: Word[]): void {
  let w = 0;
  me.segments = segments.map((seg) => {
    const time = h(
      'button',
      { type: 'button', class: 'seg-time', title: `play from ${formatClock(seg.start)}` },
      formatClock(seg.start),
    );
    const text = h('span', { class: 'seg-text' });
    const mine: { w: Word; el: HTMLElement }[] = [];
    // Words inside this segment (both lists are in time order).
    while (w < words.length && words[w]!.start < seg.start - 0.01) w++;
    while (w < words.length && words[w]!.start < seg.end + 0.01) {
      const word = words[w++]!;
      const el = h('span', { class: 'word' }, word.word.trim());
      mine.push({ w: word, el });
    }
    if (mine.length) for (const [i, m] of mine.entries()) text.append(i ? ' ' : '', m.el);
    else text.textContent = seg.text.trim();
    const li = h('li', { class: 'segment' }, time, ' ');
    if (seg.speaker) li.append(h('span', { class: 'speaker', title: 'speaker' }, seg.speaker), ' ');
    li.append(text);
    li.dataset.start = String(seg.start);
    li.onclick = () => seek(me, seg.start);
    return { seg, el: li, words: mine };
  });
  byId('transcript').replaceChildren(...me.segments.map((s) => s.el));
  byId('transcript').classList.toggle(
    'has-speakers',
    segments.some((s) => s.speaker),
  );
  applySearch();
}

function seek(me: Shown, to: number): void {
  if (!me.player) return;
  me.player.currentTime = to;
  void me.player.play().catch(() => undefined);
  highlight(me);
}

/** Highlights while playing, every frame (timeupdate is too coarse for words). */
function track(me: Shown): void {
  cancelAnimationFrame(me.frame);
  const step = () => {
    if (shown !== me || !me.player) return;
    highlight(me);
    if (!me.player.paused) me.frame = requestAnimationFrame(step);
  };
  step();
}

function highlight(me: Shown): void {
  const t = me.player?.currentTime ?? 0;
  let at = -1;
  for (let i = 0; i < me.segments.length; i++) {
    if (me.segments[i]!.seg.start <= t + 0.01) at = i;
    else break;
  }
  if (at !== me.current) {
    me.segments[me.current]?.el.classList.remove('current');
    me.segments[me.current]?.el.removeAttribute('aria-current');
    const now = me.segments[at];
    if (now) {
      now.el.classList.add('current');
      now.el.setAttribute('aria-current', 'true');
      now.el.scrollIntoView({ block: 'nearest' });
    }
    me.current = at;
  }
  const word = me.segments[at]?.words.find((x) => x.w.start <= t && t < x.w.end)?.el ?? null;
  if (word !== me.currentWord) {
    me.currentWord?.classList.remove('current-word');
    word?.classList.add('current-word');
    me.currentWord = word;
  }
}

/** Narrows the list to the segments containing the search words. */
export function applySearch(): void {
  const query = byId<HTMLInputElement>('search').value.trim().toLowerCase();
  let hits = 0;
  for (const { seg, el } of shown?.segments ?? []) {
    const hit =
      !query || seg.text.toLowerCase().includes(query) || seg.speaker?.toLowerCase() === query;
    el.hidden = !hit;
    el.classList.toggle('match', Boolean(query) && hit);
    if (hit) hits++;
  }
  byId('search-count').textContent = query
    ? `${hits} of ${shown?.segments.length ?? 0} segments`
    : '';
}

function wireDownloads(jobId: string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>('#transcript-downloads a')) {
    link.onclick = async (e) => {
      e.preventDefault();
      const format = link.dataset.format ?? 'txt';
      const res = await api(`/v1/jobs/${jobId}/transcript?format=${format}`);
      saveBlob(await res.blob(), `${jobId}.${format}`);
    };
  }
}

/** Copies the transcript's text; says whether that worked. */
export async function copyTranscript(): Promise<string> {
  const text = shown?.text || shown?.segments.map((s) => s.seg.text.trim()).join('\n') || '';
  try {
    await navigator.clipboard.writeText(text);
    return 'Copied.';
  } catch {
    return 'This browser did not allow copying; select the text instead.';
  }
}
