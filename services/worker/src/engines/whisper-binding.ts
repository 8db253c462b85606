// The few calls of @fugood/whisper.node this engine uses, typed here: the package ships
// its TypeScript sources without declaration files, and those sources do not compile
// under this repo's strict settings (verbatimModuleSyntax), so it is loaded untyped.

export interface WhisperTranscribeOptions {
  language?: string;
  maxThreads?: number;
  /** 0–100 (whisper.cpp may overshoot). */
  onProgress?: (progress: number) => void;
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

type InitWhisper = (options: { filePath: string; useGpu?: boolean }) => Promise<WhisperContext>;

let loaded: Promise<InitWhisper> | undefined;

/** Loads the native binding once (its prebuilt linux/darwin/win32 package). */
export function initWhisper(options: {
  filePath: string;
  useGpu?: boolean;
}): Promise<WhisperContext> {
  loaded ??= (async () => {
    const specifier: string = '@fugood/whisper.node';
    const mod = (await import(specifier)) as {
      initWhisper?: InitWhisper;
      default?: { initWhisper?: InitWhisper };
    };
    const init = mod.initWhisper ?? mod.default?.initWhisper;
    if (!init) throw new Error('@fugood/whisper.node has no initWhisper export');
    return init;
  })();
  return loaded.then((init) => init(options));
}
