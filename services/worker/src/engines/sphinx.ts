// CMU PocketSphinx through Debian's `pocketsphinx_continuous`: fully offline, so it is
// the default engine for local runs and tests. It is a weak recogniser; see the fixtures
// README before asserting anything about its text.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parentDeathPrefix } from '../child-lifetime.js';
import { abortError } from '../errors.js';
import type {
  Engine,
  EngineResult,
  EngineSegment,
  EngineWord,
  TranscribeOptions,
} from './engine.js';
import { sphinxOutputReader, type Utterance } from './sphinx-output.js';

export interface SphinxEngineOptions {
  /** Acoustic model directory; the binary's built-in default (en-us) when omitted. */
  hmm?: string;
  /** Language model (`.lm.bin` / `.lm`). */
  lm?: string;
  /** Pronunciation dictionary. */
  dict?: string;
  /** Path or name of `pocketsphinx_continuous`. */
  binary?: string;
  /**
   * Command the binary runs under; default `setpriv --pdeathsig KILL --` where available,
   * so the decoder dies with the worker even when the worker is SIGKILLed.
   */
  spawnPrefix?: readonly string[];
}

const MODEL_NAME = 'cmusphinx-en-us';
const STDERR_LINES_KEPT = 5;

export function createSphinxEngine(opts: SphinxEngineOptions = {}): Engine {
  const binary = opts.binary ?? 'pocketsphinx_continuous';
  const modelArgs = [
    ...(opts.hmm ? ['-hmm', opts.hmm] : []),
    ...(opts.lm ? ['-lm', opts.lm] : []),
    ...(opts.dict ? ['-dict', opts.dict] : []),
  ];
  return {
    name: 'sphinx',
    transcribe: (wavFile, options, onProgress) =>
      runSphinx(
        binary,
        ['-infile', wavFile, '-time', 'yes', ...modelArgs],
        opts.spawnPrefix ?? parentDeathPrefix(),
        options,
        onProgress,
      ),
  };
}

function runSphinx(
  binary: string,
  args: string[],
  prefix: readonly string[],
  { signal }: TranscribeOptions,
  onProgress: (processedS: number) => void,
): Promise<EngineResult> {
  if (signal?.aborted) return Promise.reject(abortError(signal));

  return new Promise<EngineResult>((resolve, reject) => {
    // No -logfn: the log on stderr is the only place a failure is explained.
    const [command = binary, ...wrapArgs] = prefix.length > 0 ? [...prefix, binary] : [binary];
    const child = spawn(command, [...wrapArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const segments: EngineSegment[] = [];
    const words: EngineWord[] = [];
    const stderrTail: string[] = [];
    const stderrProblems: string[] = [];
    const reader = sphinxOutputReader();
    let failure: Error | undefined;
    let aborted = false;

    const take = (utterance: Utterance | undefined): void => {
      if (!utterance) return;
      if (utterance.segment) segments.push(utterance.segment);
      words.push(...utterance.words);
      const processedS = utterance.end;
      try {
        onProgress(processedS);
      } catch (err) {
        // A throwing listener would otherwise escape from the readline handler and take
        // the whole worker down; fail this transcription instead.
        failure ??= err instanceof Error ? err : new Error(String(err));
        child.kill('SIGKILL');
      }
    };

    createInterface({ input: child.stdout }).on('line', (line) => take(reader.line(line)));
    createInterface({ input: child.stderr }).on('line', (line) => {
      // The log is mostly INFO and config dumps; when something goes wrong the ERROR and
      // FATAL lines say why, so those are kept in preference.
      const tail = /^(ERROR|FATAL)/.test(line) ? stderrProblems : stderrTail;
      if (line.trim() === '') return;
      tail.push(line);
      if (tail.length > STDERR_LINES_KEPT) tail.shift();
    });

    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      failure ??= describeSpawnError(binary, err);
      // Without a pid there is no process whose 'close' we could wait for.
      if (child.pid === undefined) {
        signal?.removeEventListener('abort', onAbort);
        reject(failure);
      }
    });
    // 'close' comes after the process is gone and its pipes are drained, so the last
    // utterance has been parsed and an aborted child has really been reaped.
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (aborted && signal) return reject(abortError(signal));
      if (failure) return reject(failure);
      if (code === 127 && prefix.length > 0 && stderrTail.some((l) => l.includes(binary))) {
        // setpriv could not exec the binary: the same thing as a spawn ENOENT without it.
        const notFound = Object.assign(new Error(stderrTail.join('\n')), { code: 'ENOENT' });
        return reject(describeSpawnError(binary, notFound));
      }
      if (code !== 0) {
        const why = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
        const lines = stderrProblems.length > 0 ? stderrProblems : stderrTail;
        const tail = lines.length > 0 ? `:\n${lines.join('\n')}` : '';
        return reject(new Error(`pocketsphinx ${why}${tail}`));
      }
      take(reader.end());
      resolve({
        text: segments.map((s) => s.text).join(' '),
        segments,
        words,
        model: MODEL_NAME,
      });
    });
  });
}

function describeSpawnError(binary: string, err: Error): Error {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new Error(
      `pocketsphinx is not installed: '${binary}' was not found (install Debian's pocketsphinx and pocketsphinx-en-us packages)`,
      { cause: err },
    );
  }
  return new Error(`could not start pocketsphinx ('${binary}'): ${err.message}`, { cause: err });
}
