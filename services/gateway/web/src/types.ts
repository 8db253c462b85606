// The API's wire shapes the page reads (packages/contracts has the schemas); only the
// fields used here, and every field added by later issues optional or nullable.

export type JobStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'canceled';
export const TERMINAL: readonly string[] = ['completed', 'failed', 'canceled'];

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface Enrichment {
  key: string;
  kind: string;
  targetLanguage?: string | null;
  status: string;
  progress: number;
  piecesDone?: number;
  piecesTotal?: number | null;
  error?: ApiErrorBody | null;
  model?: string | null;
  processingMs?: number | null;
  formats?: string[];
  etaS?: number | undefined;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress: number;
  stage: string | null;
  filename: string;
  contentType: string;
  sizeBytes: number;
  durationS: number | null;
  attempts: number;
  error: ApiErrorBody | null;
  createdAt: string;
  finishedAt: string | null;
  processingMs: number | null;
  audioDoneS?: number | null;
  etaS?: number | null;
  stalledSinceS?: number | null;
  queuePosition?: number | null;
  estimatedStartAt?: string | null;
  enrichments: Enrichment[];
  eventsToken?: string;
  links: { self: string; transcript: string; events: string };
}

export interface JobEvent {
  type: string;
  jobId: string;
  seq: number;
  at: string;
  attempt?: number;
  progress?: number;
  stage?: string;
  audioDoneS?: number;
  audioTotalS?: number;
  etaS?: number;
  position?: number;
  estimatedStartAt?: string | null;
  durationS?: number | null;
  processingMs?: number;
  error?: ApiErrorBody;
  enrichment?: { id: string; key: string; kind: string };
  piecesDone?: number;
  piecesTotal?: number;
  model?: string;
  segments?: Segment[];
}

export interface Frame {
  kind: 'event' | 'ready' | 'discontinuity';
  event?: JobEvent;
  cursor?: string;
  etaS?: number;
  message?: string;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  speaker?: string;
}

export interface Word {
  start: number;
  end: number;
  word: string;
}

export interface Transcript {
  text: string;
  segments: Segment[];
  words?: Word[];
  language?: string;
  durationS: number | null;
}

export interface UiConfig {
  enrichments: { available: boolean; kinds: string[] };
  upload?: { maxBytes: number | null };
  events?: { url: string | null };
}
