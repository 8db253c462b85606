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
  /** The engine's label for who speaks, from engines that diarize; renamed when stitched. */
  speaker?: string;
}

export interface EngineWord {
  /** Seconds from the start of the file given to the engine, inside a segment. */
  start: number;
  end: number;
  /** As it appears in the segment's text. */
  word: string;
  /** In [0, 1], from engines whose score is a probability; absent otherwise. */
  confidence?: number;
}

export interface EngineResult {
  text: string;
  segments: EngineSegment[];
  /** Word timings, from engines that give them; absent means none (docs/engines.md). */
  words?: EngineWord[];
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
