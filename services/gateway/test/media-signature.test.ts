// The gateway's content check must recognise every accepted format as real encoders write
// it (made here with ffmpeg from real speech), and refuse what is not media.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SIGNATURE_BYTES, detectContainer } from '../src/media-signature.js';
import { toCues, toSrt, toVtt, wrap } from '../src/subtitles.js';
import { audioFixture } from '../../../packages/testkit/src/fixtures.js';

const run = promisify(execFile);
const JFK = audioFixture('jfk.wav');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Real speech under a test picture: what a screen recording or a phone video looks like. */
const WITH_VIDEO = [
  '-f',
  'lavfi',
  '-i',
  'testsrc=size=64x64:rate=5',
  '-i',
  JFK,
  '-shortest',
  '-c:v',
  'mpeg4',
  '-c:a',
  'aac',
];

async function encode(name: string, args: string[]): Promise<Buffer> {
  const out = join(dir, name);
  await run('ffmpeg', ['-v', 'error', '-y', ...args, out]);
  return (await readFile(out)).subarray(0, SIGNATURE_BYTES);
}

describe('detectContainer', () => {
  it.each([
    ['wav', 'a.wav', ['-i', JFK], 'wav'],
    [
      'mp3 with an ID3 tag',
      'a.mp3',
      ['-i', JFK, '-metadata', 'title=jfk', '-id3v2_version', '3'],
      'mp3',
    ],
    ['mp3 without tags', 'b.mp3', ['-i', JFK, '-write_id3v2', '0', '-map_metadata', '-1'], 'mp3'],
    ['flac', 'a.flac', ['-i', JFK], 'flac'],
    ['ogg vorbis', 'a.ogg', ['-i', JFK, '-c:a', 'libvorbis'], 'ogg'],
    ['opus', 'a.opus', ['-i', JFK, '-c:a', 'libopus'], 'ogg'],
    ['m4a', 'a.m4a', ['-i', JFK, '-c:a', 'aac'], 'mp4'],
    ['raw aac (ADTS)', 'a.aac', ['-i', JFK, '-c:a', 'aac', '-f', 'adts'], 'aac'],
    ['webm', 'a.webm', ['-i', JFK, '-c:a', 'libopus'], 'webm'],
    ['mp4 with video', 'v.mp4', WITH_VIDEO, 'mp4'],
    ['QuickTime mov', 'v.mov', WITH_VIDEO, 'mov'],
  ])('recognises %s', async (_what, name, args, expected) => {
    expect(detectContainer(await encode(name, args as string[]))).toBe(expected);
  });

  it.each([
    ['plain text', Buffer.from('hello, this is text\n'.repeat(20))],
    ['JSON', Buffer.from(JSON.stringify({ audio: true }))],
    ['a PNG image', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')],
    ['a PDF', Buffer.from('%PDF-1.7\n')],
    ['zeros', Buffer.alloc(4096)],
    [
      'random-looking bytes',
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)),
    ],
    [
      'a RIFF file that is not WAVE (AVI)',
      Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('AVI LIST')]),
    ],
    ['nothing', Buffer.alloc(0)],
    ['a truncated header', Buffer.from('RI')],
  ])('refuses %s', (_what, bytes) => {
    expect(detectContainer(bytes)).toBeUndefined();
  });
});

describe('subtitles', () => {
  it('wraps at word boundaries within the line limit; an overlong word stays whole', () => {
    expect(wrap('a b c', 3)).toEqual(['a b', 'c']);
    expect(wrap('  spaced   out  ', 42)).toEqual(['spaced out']);
    expect(wrap('x'.repeat(50))).toEqual(['x'.repeat(50)]);
    expect(wrap('')).toEqual([]);
  });

  it('splits a long segment into cues that share its time in order and cover it exactly', () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const cues = toCues([{ start: 10, end: 30, text }]);
    expect(cues.length).toBeGreaterThan(1);
    expect(cues[0]!.start).toBe(10);
    expect(cues.at(-1)!.end).toBe(30);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBe(cues[i - 1]!.end);
    for (const cue of cues) expect(cue.lines.length).toBeLessThanOrEqual(2);
  });

  it('skips empty segments, keeps a zero-length one visible, and escapes WebVTT markup', () => {
    expect(toSrt([{ start: 0, end: 1, text: '   ' }])).toBe('');
    expect(toSrt([{ start: 5, end: 5, text: 'blink' }])).toBe(
      '1\n00:00:05,000 --> 00:00:05,001\nblink\n',
    );
    expect(toVtt([{ start: 3661.5, end: 3662, text: 'a <b> & c --> d' }])).toBe(
      'WEBVTT\n\n01:01:01.500 --> 01:01:02.000\na &lt;b> &amp; c --&gt; d\n',
    );
    expect(toVtt([])).toBe('WEBVTT\n');
  });
});
