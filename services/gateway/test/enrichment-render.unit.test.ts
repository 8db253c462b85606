// An enrichment's result in each of its formats (enrichment-render.ts), without a server.
import type { EnrichmentResult } from '@transcribe/contracts';
import type { EnrichmentRow } from '@transcribe/db';
import { defaultFormatOf, paragraphsOf, renderEnrichment } from '../src/enrichment-render.js';

const bases = { api: 'http://gw' };

function row(result: EnrichmentResult, text: string | null, kind: EnrichmentRow['kind'] = 'clean') {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    id: '0190a000-0000-7000-8000-000000000001',
    job_id: '0190a000-0000-7000-8000-000000000002',
    tenant_id: '0190a000-0000-7000-8000-000000000003',
    key: kind,
    kind,
    target_language: null,
    position: 0,
    status: 'completed',
    progress: 100,
    pieces_total: 1,
    pieces_done: 1,
    attempts: 1,
    error_code: null,
    error_message: null,
    model: 'm',
    prompt_version: '1',
    prompt_tokens: 0,
    completion_tokens: 0,
    text,
    result,
    holder: null,
    lease_expires_at: null,
    created_at: at,
    started_at: at,
    finished_at: at,
    updated_at: at,
  } as EnrichmentRow;
}

const DIARIZED: EnrichmentResult = {
  shape: 'timed',
  segments: [
    { start: 0, end: 1, text: 'Hello there.', speaker: 'A' },
    { start: 1, end: 2, text: ' How are you? ', speaker: 'A' },
    { start: 2, end: 3, text: 'Fine, thanks.', speaker: 'B' },
  ],
  paragraphStarts: [2],
};

it('cuts segments into paragraphs at paragraphStarts, the first always opening one', () => {
  expect(paragraphsOf(DIARIZED.segments, [2]).map((p) => p.length)).toEqual([2, 1]);
  expect(paragraphsOf(DIARIZED.segments, []).map((p) => p.length)).toEqual([3]);
  expect(paragraphsOf([], [0])).toEqual([]);
});

it('renders a timed result without stored text as paragraphs, speakers labelled', () => {
  expect(renderEnrichment(row(DIARIZED, null), 'txt', bases)).toBe(
    'A: Hello there. How are you?\n\nB: Fine, thanks.\n',
  );
  expect(renderEnrichment(row(DIARIZED, null), 'md', bases)).toBe(
    '**A:** Hello there. How are you?\n\n**B:** Fine, thanks.\n',
  );
  expect(renderEnrichment(row(DIARIZED, 'stored'), 'txt', bases)).toBe('stored\n');
  expect(renderEnrichment(row(DIARIZED, null), 'srt', bases)).toContain('[B] Fine, thanks.');
  expect(renderEnrichment(row(DIARIZED, null), 'vtt', bases)).toContain('<v B>Fine, thanks.');
});

it('serves markdown as md and its stored text (or the markdown) as txt', () => {
  const md: EnrichmentResult = { shape: 'markdown', markdown: '# Notes\n\n- one\n' };
  expect(renderEnrichment(row(md, null, 'notes'), 'md', bases)).toBe('# Notes\n\n- one\n');
  expect(renderEnrichment(row(md, null, 'notes'), 'txt', bases)).toBe('# Notes\n\n- one\n');
  expect(renderEnrichment(row(md, 'Notes: one', 'notes'), 'json', bases)).toMatchObject({
    text: 'Notes: one',
    result: md,
    links: { self: 'http://gw/v1/jobs/0190a000-0000-7000-8000-000000000002/enrichments/notes' },
  });
});

it('defaults to md for summary and notes, txt for clean and translate', () => {
  expect(
    ['clean', 'summary', 'notes', 'translate'].map((k) => defaultFormatOf(k as never)),
  ).toEqual(['txt', 'md', 'md', 'txt']);
});
