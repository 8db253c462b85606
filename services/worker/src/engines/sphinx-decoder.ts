// A resident PocketSphinx decoder: one child process that loads the model once (≈ 1 s of
// CPU per load, which `pocketsphinx_continuous` pays for every chunk) and then decodes
// WAV files named on stdin, one at a time, for as long as its parent keeps it.
//
// It calls Debian's libpocketsphinx (the library `pocketsphinx_continuous` is built on)
// through koffi and runs the very loop of that program's `recognize_from_file`
// (pocketsphinx 5prealpha, src/programs/continuous.c): 2048-sample reads, the decoder's
// own voice activity detection ending each utterance, the same printed lines. Before each
// file it puts back the state a fresh process starts from (the stream's noise statistics
// and frame count, and the live cepstral mean), so a file's transcript does not depend on
// what the process decoded before it: it is what `pocketsphinx_continuous` prints.
//
// Protocol: argv are pocketsphinx arguments (`-hmm`, `-lm`, `-dict`). Once the model is
// loaded it prints `#ready`. Each stdin line is a WAV path; the output is the utterance
// lines `pocketsphinx_continuous -time yes` would print, then `#done`, or `#error <why>`
// for a file it cannot read (the process stays usable). Between utterances, at most every
// AT_EVERY_MS, `#at <seconds>` says how much of the file the decoder has processed: the
// utterances come only when a pause ends one, 20 s of speech apart in a reading, and a
// job's progress and ETA would move in those steps. Anything it cannot survive ends
// the process, which its parent sees as a failed transcription.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as koffi from 'koffi';

const sphinxbase = koffi.load('libsphinxbase.so.3');
const pocketsphinx = koffi.load('libpocketsphinx.so.3');

const cmd_ln_parse_r = sphinxbase.func(
  'void *cmd_ln_parse_r(void *inout, void *defn, int argc, const char **argv, int strict)',
);
const logmath_exp = sphinxbase.func('double logmath_exp(void *lmath, int logb_p)');
const ps_args = pocketsphinx.func('void *ps_args()');
const ps_default_search_args = pocketsphinx.func('void ps_default_search_args(void *config)');
const ps_init = pocketsphinx.func('void *ps_init(void *config)');
const ps_get_feat = pocketsphinx.func('void *ps_get_feat(void *ps)');
const ps_get_logmath = pocketsphinx.func('void *ps_get_logmath(void *ps)');
const ps_start_stream = pocketsphinx.func('int ps_start_stream(void *ps)');
const ps_start_utt = pocketsphinx.func('int ps_start_utt(void *ps)');
const ps_end_utt = pocketsphinx.func('int ps_end_utt(void *ps)');
const ps_process_raw = pocketsphinx.func(
  'int ps_process_raw(void *ps, const int16_t *data, size_t n_samples, int no_search, int full_utt)',
);
const ps_get_in_speech = pocketsphinx.func('uint8_t ps_get_in_speech(void *ps)');
const ps_get_hyp = pocketsphinx.func('const char *ps_get_hyp(void *ps, void *out_best_score)');
const ps_seg_iter = pocketsphinx.func('void *ps_seg_iter(void *ps)');
const ps_seg_next = pocketsphinx.func('void *ps_seg_next(void *seg)');
const ps_seg_word = pocketsphinx.func('const char *ps_seg_word(void *seg)');
const ps_seg_frames = pocketsphinx.func(
  'void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)',
);
const ps_seg_prob = pocketsphinx.func(
  'int ps_seg_prob(void *seg, void *ascr, void *lscr, void *lback)',
);

// sphinxbase 5prealpha feat.h: feat_t's cmn_struct lies at byte 88 on 64-bit Linux
// (int refcount, char *name, int32 cepsize, n_stream, uint32 *stream_len, int32
// window_size, n_sv, uint32 *sv_len, int32 **subvecs, mfcc_t *sv_buf, int32 sv_dim,
// cmn, varnorm, agc, void (*compute_feat)(), cmn_t *cmn_struct); cmn.h: cmn_t is
// { mfcc_t *cmn_mean, *cmn_var, *sum; int32 nframe, veclen } with mfcc_t a float.
const FEAT_CMN_STRUCT_OFFSET = 88;
const CmnStruct = koffi.struct('cmn_t', {
  cmn_mean: 'float *',
  cmn_var: 'float *',
  sum: 'float *',
  nframe: 'int32_t',
  veclen: 'int32_t',
});

const SAMPLES_PER_READ = 2048;
/** The WAVs it reads are 16 kHz (checkWavHeader). */
const SAMPLE_RATE = 16000;
/** How often, at most, `#at` reports the seconds processed. */
const AT_EVERY_MS = 250;
const FRAME_RATE = 100;

// `-samprate 16000` is the default; the parser refuses an empty list.
const argv = ['pocketsphinx', '-samprate', '16000', ...process.argv.slice(2)];
const config = cmd_ln_parse_r(null, ps_args(), argv.length, argv, 1);
if (!config) fail('pocketsphinx could not parse its arguments');
// As continuous.c does: Debian's en-us model where -hmm, -lm and -dict are not given.
ps_default_search_args(config);
const ps = ps_init(config);
if (!ps) fail('pocketsphinx could not load its model');
const logmath = ps_get_logmath(ps);
const cmn = freshCmn(ps);
const out = (line: string) => writeSync(1, `${line}\n`);
out('#ready');

const lines = createInterface({ input: process.stdin, terminal: false });
lines.on('line', (path) => {
  if (path.trim() === '') return;
  try {
    decodeFile(path.trim());
    out('#done');
  } catch (error) {
    out(`#error ${error instanceof Error ? error.message : String(error)}`.replace(/\n/g, ' '));
  }
});
lines.on('close', () => process.exit(0));

function decodeFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(44);
    readSync(fd, header, 0, 44, null);
    checkWavHeader(header);
    cmn.restore();
    ps_start_stream(ps);
    ps_start_utt(ps);
    let uttStarted = false;
    const buffer = Buffer.alloc(SAMPLES_PER_READ * 2);
    const samples = new Int16Array(buffer.buffer, buffer.byteOffset, SAMPLES_PER_READ);
    let processed = 0;
    let atSaid = performance.now();
    for (;;) {
      const bytes = readSync(fd, buffer, 0, buffer.length, null);
      const k = Math.floor(bytes / 2);
      if (k <= 0) break;
      ps_process_raw(ps, samples, k, 0, 0);
      processed += k;
      if (performance.now() - atSaid >= AT_EVERY_MS) {
        atSaid = performance.now();
        out(`#at ${(processed / SAMPLE_RATE).toFixed(2)}`);
      }
      const inSpeech = ps_get_in_speech(ps) !== 0;
      if (inSpeech && !uttStarted) uttStarted = true;
      if (!inSpeech && uttStarted) {
        ps_end_utt(ps);
        printUtterance();
        ps_start_utt(ps);
        uttStarted = false;
      }
    }
    ps_end_utt(ps);
    if (uttStarted) printUtterance();
  } finally {
    closeSync(fd);
  }
}

/** The hypothesis, then `word start end posterior` per segment, as continuous.c prints them. */
function printUtterance(): void {
  const hyp = ps_get_hyp(ps, null) as string | null;
  if (hyp === null) return;
  const lines = [hyp];
  for (let seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
    const sf = [0];
    const ef = [0];
    ps_seg_frames(seg, sf, ef);
    const conf = Math.fround(logmath_exp(logmath, ps_seg_prob(seg, null, null, null)));
    lines.push(
      `${ps_seg_word(seg) as string} ${Math.fround(sf[0]! / FRAME_RATE).toFixed(3)} ${Math.fround(ef[0]! / FRAME_RATE).toFixed(3)} ${conf.toFixed(6)}`,
    );
  }
  out(lines.join('\n'));
}

/** continuous.c's check_wav_header: 16-bit PCM at the configured rate (16 kHz). */
function checkWavHeader(header: Buffer): void {
  const rate = header.readInt32LE(24);
  if (header.toString('ascii', 0, 4) !== 'RIFF' || rate !== SAMPLE_RATE) {
    throw new Error(`not a 16 kHz WAV file (sample rate ${rate})`);
  }
}

/**
 * The live cepstral mean as ps_init left it (`-cmninit`, nothing accumulated), and a way
 * to put it back: pocketsphinx updates it after every utterance, and a fresh process
 * starts each file from this.
 */
function freshCmn(decoder: unknown) {
  const feat = ps_get_feat(decoder);
  const pointer = koffi.decode(feat, FEAT_CMN_STRUCT_OFFSET, 'void *');
  if (!pointer) return { restore: () => undefined };
  const state = koffi.decode(pointer, CmnStruct) as {
    cmn_mean: unknown;
    sum: unknown;
    nframe: number;
    veclen: number;
  };
  const mean = koffi.decode(state.cmn_mean, 'float', state.veclen) as number[];
  const sum = koffi.decode(state.sum, 'float', state.veclen) as number[];
  const nframe = state.nframe;
  return {
    restore() {
      koffi.encode(state.cmn_mean, 'float', mean, state.veclen);
      koffi.encode(state.sum, 'float', sum, state.veclen);
      // nframe follows the three pointers.
      koffi.encode(pointer, 24, 'int32_t', nframe);
    },
  };
}

function fail(message: string): never {
  process.stderr.write(`FATAL: ${message}\n`);
  process.exit(1);
}
