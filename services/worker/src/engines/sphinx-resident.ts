// PocketSphinx with its model kept loaded between chunks: each transcription goes to a
// resident decoder process (sphinx-decoder.ts) instead of a new `pocketsphinx_continuous`,
// which loads the model again for every chunk. The transcript is the same (the decoder
// runs continuous.c's loop on the same library), the failure handling too: a decoder
// that crashes, or that an abort or the chunk's timeout kills, fails that one
// transcription and is replaced by a fresh one for the next; it never hangs the worker.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parentDeathPrefix } from '../child-lifetime.js';
import { abortError } from '../errors.js';
import type { Engine, EngineResult, EngineSegment, EngineWord } from './engine.js';
import { sphinxOutputReader } from './sphinx-output.js';

export interface ResidentSphinxOptions {
  /** The built sphinx-decoder.js (main.ts resolves it beside itself). */
  decoderScript: string;
  hmm?: string;
  lm?: string;
  dict?: string;
  /** Node binary that runs the decoder; default this process's. */
  node?: string;
  /** See SphinxEngineOptions.spawnPrefix: the decoder dies with the worker. */
  spawnPrefix?: readonly string[];
  /**
   * Decoders kept loaded while idle. One per concurrent transcription is started on
   * demand; past this many, a finished one exits instead of waiting (default 1).
   */
  keepIdle?: number;
}

export interface ResidentSphinxEngine extends Engine {
  /**
   * Loads one decoder now (at worker start), so the first chunk does not wait for it.
   * Rejects when it fails or is not ready within `timeoutMs` (default 60 s; it is then
   * killed): a start-up never waits on a stuck decoder.
   */
  warm(timeoutMs?: number): Promise<void>;
  /** Ends every decoder. */
  close(): Promise<void>;
  /** Decoder processes alive now (for tests and metrics). */
  processes(): number[];
}

const MODEL_NAME = 'cmusphinx-en-us';
const STDERR_LINES_KEPT = 5;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** One decoder process and whatever is listening to it now. */
interface Decoder {
  child: Child;
  ready: Promise<void>;
  /** Receives stdout lines while a file is being decoded. */
  onLine?: (line: string) => void;
  /** Called once when the process is gone (with why). */
  onExit?: (error: Error) => void;
  exited?: Error;
  stderr: { tail: string[]; problems: string[] };
}

export function createResidentSphinxEngine(opts: ResidentSphinxOptions): ResidentSphinxEngine {
  const modelArgs = [
    ...(opts.hmm ? ['-hmm', opts.hmm] : []),
    ...(opts.lm ? ['-lm', opts.lm] : []),
    ...(opts.dict ? ['-dict', opts.dict] : []),
  ];
  const keepIdle = opts.keepIdle ?? 1;
  const idle: Decoder[] = [];
  const alive = new Set<Decoder>();

  function start(): Decoder {
    const prefix = opts.spawnPrefix ?? parentDeathPrefix();
    const command = [...prefix, opts.node ?? process.execPath, opts.decoderScript, ...modelArgs];
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const decoder: Decoder = {
      child,
      ready: Promise.resolve(),
      stderr: { tail: [], problems: [] },
    };
    alive.add(decoder);
    decoder.ready = new Promise<void>((resolve, reject) => {
      decoder.onLine = (line) => {
        if (line === '#ready') {
          decoder.onLine = undefined;
          resolve();
        }
      };
      decoder.onExit = reject;
    });
    // Its rejection is read by whoever waits for it; until then it must not count as unhandled.
    decoder.ready.catch(() => undefined);
    createInterface({ input: child.stdout }).on('line', (line) => decoder.onLine?.(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      // The log is mostly INFO and config dumps; when something goes wrong the ERROR and
      // FATAL lines say why, so those are kept in preference.
      if (line.trim() === '') return;
      const tail = /^(ERROR|FATAL)/.test(line) ? decoder.stderr.problems : decoder.stderr.tail;
      tail.push(line);
      if (tail.length > STDERR_LINES_KEPT) tail.shift();
    });
    child.stdin.on('error', () => undefined); // a dead decoder's pipe: its exit says why
    const gone = (error: Error) => {
      if (decoder.exited) return;
      decoder.exited = error;
      alive.delete(decoder);
      const at = idle.indexOf(decoder);
      if (at >= 0) idle.splice(at, 1);
      decoder.onExit?.(error);
    };
    child.on('error', (err) => gone(describeSpawnError(err)));
    // 'close': the process is gone and its pipes drained, so every line was read.
    child.on('close', (code, signal) => gone(exitError(decoder, code, signal)));
    return decoder;
  }

  function release(decoder: Decoder): void {
    if (decoder.exited) return;
    if (idle.length < keepIdle) idle.push(decoder);
    else decoder.child.kill('SIGKILL');
  }

  return {
    name: 'sphinx',
    async transcribe(wavFile, { signal }, onProgress): Promise<EngineResult> {
      if (signal?.aborted) throw abortError(signal);
      const decoder = idle.pop() ?? start();
      decoder.stderr = { tail: [], problems: [] };
      try {
        return await decode(decoder, wavFile, signal, onProgress);
      } finally {
        // Only a decoder that finished its file cleanly is used again.
        if (!decoder.exited && decoder.onLine === undefined) release(decoder);
        else decoder.child.kill('SIGKILL');
      }
    },
    async warm(timeoutMs = 60_000) {
      const decoder = idle.pop() ?? start();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          decoder.child.kill('SIGKILL');
          reject(new Error(`the pocketsphinx decoder was not ready within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        await Promise.race([decoder.ready, late]);
      } finally {
        clearTimeout(timer);
        release(decoder);
      }
    },
    async close() {
      const all = [...alive];
      idle.length = 0;
      await Promise.all(
        all.map(
          (d) =>
            new Promise<void>((resolve) => {
              if (d.exited) return resolve();
              d.child.once('close', () => resolve());
              d.child.kill('SIGKILL');
            }),
        ),
      );
    },
    processes: () => [...alive].flatMap((d) => (d.child.pid ? [d.child.pid] : [])),
  };
}

/** One file through a decoder: resolves on `#done`, rejects on `#error`, exit or abort. */
function decode(
  decoder: Decoder,
  wavFile: string,
  signal: AbortSignal | undefined,
  onProgress: (processedS: number) => void,
): Promise<EngineResult> {
  return new Promise<EngineResult>((resolve, reject) => {
    const segments: EngineSegment[] = [];
    const words: EngineWord[] = [];
    const reader = sphinxOutputReader();
    let settled = false;
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        // Whatever state it is in, this decoder is not used again; the promise settles
        // once it is gone, so nothing of this transcription outlives it.
        if (decoder.exited) return reject(error);
        decoder.onExit = () => reject(error);
        decoder.child.kill('SIGKILL');
        return;
      }
      decoder.onLine = undefined;
      decoder.onExit = undefined;
      resolve({ text: segments.map((s) => s.text).join(' '), segments, words, model: MODEL_NAME });
    };
    // The decoder's `#at` runs ahead of the utterances it has ended: report only increases.
    let heardS = 0;
    const progress = (s: number) => {
      if (!(s > heardS)) return;
      heardS = s;
      try {
        onProgress(s);
      } catch (err) {
        // A throwing listener fails this transcription, never the worker.
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const take = (utterance: ReturnType<typeof reader.line>) => {
      if (!utterance) return;
      if (utterance.segment) segments.push(utterance.segment);
      words.push(...utterance.words);
      progress(utterance.end);
    };
    const onAbort = () => finish(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });

    if (decoder.exited) return finish(decoder.exited);
    decoder.onExit = (error) => finish(error);
    decoder.ready.then(
      () => {
        if (settled) return;
        decoder.onLine = (line) => {
          if (line === '#done') {
            take(reader.end());
            return finish(undefined);
          }
          if (line.startsWith('#error ')) {
            return finish(new Error(`pocketsphinx could not read the audio: ${line.slice(7)}`));
          }
          if (line.startsWith('#at ')) return progress(Number(line.slice(4)));
          take(reader.line(line));
        };
        decoder.child.stdin.write(`${wavFile}\n`);
      },
      (error: Error) => finish(error),
    );
  });
}

function exitError(decoder: Decoder, code: number | null, signal: NodeJS.Signals | null): Error {
  const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  const { problems, tail } = decoder.stderr;
  const lines = problems.length > 0 ? problems : tail;
  return new Error(`pocketsphinx ${why}${lines.length > 0 ? `:\n${lines.join('\n')}` : ''}`);
}

function describeSpawnError(err: Error): Error {
  return new Error(`could not start the pocketsphinx decoder: ${err.message}`, { cause: err });
}
