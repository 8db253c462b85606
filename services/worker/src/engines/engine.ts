export interface TranscribeOptions {
  /** BCP-47-ish code from the job (`en`, `en-US`) or `auto`; engines may ignore it. */
  language: string;
  /** Engine-specific model name or path; null/undefined means the engine's default. */
  model?: string | null;
  /** Cancels the transcription: the engine stops its work and rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface EngineSegment {
  /** Seconds from the start of the file given to the engine. */
  start: number;
  end: number;
  text: string;
}

export interface EngineResult {
  text: string;
  segments: EngineSegment[];
  /** The model that actually ran, recorded on the job; null when the engine cannot tell. */
  model: string | null;
  /**
   * For `auto`: the language the engine heard (ISO-639 primary subtag), when it can tell;
   * the job's language is chosen among its chunks' (packages/db job-language.ts).
   */
  language?: string;
}

/** A speech recogniser that reads a 16 kHz mono s16le WAV file (see media.ts). */
export interface Engine {
  readonly name: string;
  /**
   * `onProgress` receives the seconds of audio processed so far, non-decreasing; the
   * caller turns that into a fraction with the duration it already knows.
   */
  transcribe(
    wavFile: string,
    options: TranscribeOptions,
    onProgress: (processedS: number) => void,
  ): Promise<EngineResult>;
}
