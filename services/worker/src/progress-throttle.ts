// Progress of one job attempt, paced: clients and the event stream see at most one
// progress event per `minIntervalMs`, yet never miss a stage or a stage's last value
// (decode progress arrives every ~0.7 s and the first stages change within milliseconds).

/** The chunk a transcribing report is about, and the seconds of it decoded so far (issue 16). */
export interface ChunkProgress {
  index: number;
  doneS: number;
}

export interface ProgressThrottle<S extends string> {
  report(progress: number, stage: S, chunk?: ChunkProgress): void;
  /**
   * Drops what is still pending (the attempt failed: its progress no longer matters) and
   * resolves once the write in flight, if any, has landed, so a final event comes after it.
   */
  stop(): Promise<void>;
  /**
   * The attempt succeeded: what is still pending is written now, in order, without waiting
   * for its pace (the completion event follows at once; pacing it would only delay the
   * answer a waiting request gets, by up to `minIntervalMs`). Resolves once all is written.
   */
  finish(): Promise<void>;
}

/**
 * Writes reports in order, one per `minIntervalMs` at most. Reports that arrive in
 * between wait in a queue where consecutive reports of the same stage collapse into the
 * latest, so every stage change and every stage's final value (100 % of decoding) is
 * written, just later. The interval runs from the end of one write to the start of the
 * next, so a write slowed by a lock or a busy machine cannot bunch its event's timestamp
 * up against the next one's. `write` must not reject.
 */
export function throttleProgress<S extends string>(options: {
  minIntervalMs: number;
  write: (progress: number, stage: S, chunk?: ChunkProgress) => Promise<void>;
  now?: () => number;
}): ProgressThrottle<S> {
  const now = options.now ?? Date.now;
  const queue: { progress: number; stage: S; chunk?: ChunkProgress }[] = [];
  let lastSent = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  let writing = false;
  let stopped = false;

  const pump = () => {
    timer = undefined;
    if (stopped || writing) return;
    const next = queue[0];
    if (!next) return;
    const wait = lastSent + options.minIntervalMs - now();
    if (wait > 0) {
      timer = setTimeout(pump, wait);
      return;
    }
    queue.shift();
    writing = true;
    chain = chain
      .then(() => options.write(next.progress, next.stage, next.chunk))
      .then(() => {
        writing = false;
        lastSent = now();
        if (!stopped && queue.length > 0 && !timer) {
          timer = setTimeout(pump, options.minIntervalMs);
        }
      });
  };

  return {
    report(progress, stage, chunk) {
      if (stopped) return;
      const last = queue.at(-1);
      // Collapsing keeps the latest chunk's figure: a chunk that ended before the next
      // began is counted whole once stored, so its own last figure does not matter.
      if (last?.stage === stage) Object.assign(last, { progress, chunk });
      else queue.push({ progress, stage, chunk });
      if (!timer && !writing) pump();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
      return chain;
    },
    finish() {
      if (stopped) return chain;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const next of queue.splice(0)) {
        chain = chain.then(() => options.write(next.progress, next.stage, next.chunk));
      }
      return chain;
    },
  };
}
