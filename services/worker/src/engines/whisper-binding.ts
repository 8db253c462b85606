// The few calls of @fugood/whisper.node this engine uses, typed here: the package ships
// its TypeScript sources without declaration files, and those sources do not compile
// under this repo's strict settings (verbatimModuleSyntax), so it is loaded untyped.

export interface WhisperTranscribeOptions {
  language?: string;
  maxThreads?: number;
  /** 0–100 (whisper.cpp may overshoot). */
  onProgress?: (progress: number) => void;
  /** Times per token (whisper.cpp's `token_timestamps`). */
  tokenTimestamps?: boolean;
  /** Cuts each segment into pieces of at most this many characters (1: one token each). */
  maxLen?: number;
  /** Once per decoded segment, with the number of pieces it was cut into. */
  onNewSegments?: (result: { nNew: number }) => void;
}

export interface WhisperTranscribeResult {
  result: string;
  language?: string;
  /** `t0`/`t1` in milliseconds. */
  segments: { text: string; t0: number; t1: number }[];
  isAborted: boolean;
}

export interface WhisperContext {
  transcribeFile(
    filePath: string,
    options?: WhisperTranscribeOptions,
  ): { stop: () => Promise<void>; promise: Promise<WhisperTranscribeResult> };
  release(): Promise<void>;
}

interface Binding {
  initWhisper(options: { filePath: string; useGpu?: boolean }): Promise<WhisperContext>;
  toggleNativeLog(enable: boolean): Promise<void>;
  addNativeLogListener(listener: (level: string, text: string) => void): { remove(): void };
}

let loaded: Promise<Binding> | undefined;

/** Loads the native binding once (its prebuilt linux/darwin/win32 package). */
function binding(): Promise<Binding> {
  loaded ??= (async () => {
    const specifier: string = '@fugood/whisper.node';
    const mod = (await import(specifier)) as Partial<Binding> & { default?: Partial<Binding> };
    const api = mod.initWhisper ? mod : mod.default;
    if (!api?.initWhisper || !api.toggleNativeLog || !api.addNativeLogListener) {
      throw new Error('@fugood/whisper.node does not export the expected functions');
    }
    return api as Binding;
  })();
  return loaded;
}

export async function initWhisper(options: {
  filePath: string;
  useGpu?: boolean;
}): Promise<WhisperContext> {
  return (await binding()).initWhisper(options);
}

/**
 * Sends whisper.cpp's log lines to `listener` instead of stderr. The returned function
 * undoes it; until then the native callback keeps the event loop alive.
 */
export async function routeNativeLog(
  listener: (level: string, text: string) => void,
): Promise<() => Promise<void>> {
  const api = await binding();
  await api.toggleNativeLog(true);
  const subscription = api.addNativeLogListener(listener);
  return async () => {
    subscription.remove();
    await api.toggleNativeLog(false);
  };
}
