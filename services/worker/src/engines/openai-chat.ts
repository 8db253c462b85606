// The chat engine of enrichments: any OpenAI-compatible `/v1/chat/completions` (OpenAI,
// Ollama, vLLM, llama.cpp server) through the official `openai` package. The SDK retries
// 408/409/429/5xx and dropped connections itself, honouring Retry-After; what is left
// after its retries is classified here into a verdict the enrichment runner acts on.
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { abortError } from '../errors.js';

export interface ChatEngineOptions {
  /** e.g. `http://ollama:11434/v1`. */
  baseURL: string;
  /** Ollama and llama.cpp need none; a placeholder is sent then. */
  apiKey?: string;
  model: string;
  /** Retries of one request after 408/409/429, 5xx or a dropped connection. */
  maxRetries: number;
  /** Per request (each retry has its own). */
  timeoutMs: number;
}

export interface ChatRequest {
  system: string;
  user: string;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface ChatAnswer {
  text: string;
  /** The model as the server named it in its answer. */
  model: string;
  usage: { promptTokens: number; completionTokens: number };
  /** The answer hit `maxTokens` (finish_reason `length`). */
  truncated: boolean;
}

export interface ChatEngine {
  readonly model: string;
  complete(request: ChatRequest): Promise<ChatAnswer>;
}

/**
 * A chat request that failed after the SDK's retries. `engine_rejected`: the server
 * refused the request itself (4xx other than 408/409/429: bad key, unknown model, too
 * long) and no retry can help. `engine_unavailable`: it could not answer now (5xx,
 * rate limits, network, time-outs); worth another attempt later.
 */
export class ChatEngineError extends Error {
  override readonly name = 'ChatEngineError';
  constructor(
    readonly code: 'engine_rejected' | 'engine_unavailable',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.code === 'engine_unavailable';
  }
}

export function isChatEngineError(error: unknown): error is ChatEngineError {
  return error instanceof Error && error.name === 'ChatEngineError';
}

const RETRIED_STATUSES = new Set([408, 409, 429]);

/** Maps what the SDK threw to a ChatEngineError, or to an AbortError when we aborted. */
export function classifyChatError(error: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted || error instanceof APIUserAbortError) {
    return abortError(signal ?? AbortSignal.abort());
  }
  if (error instanceof APIConnectionError) {
    return new ChatEngineError('engine_unavailable', `chat server unreachable: ${error.message}`);
  }
  if (error instanceof APIError && error.status !== undefined) {
    const status = error.status;
    const code =
      status >= 400 && status < 500 && !RETRIED_STATUSES.has(status)
        ? 'engine_rejected'
        : 'engine_unavailable';
    return new ChatEngineError(code, `chat server answered ${status}: ${error.message}`, status);
  }
  if (error instanceof Error) return new ChatEngineError('engine_unavailable', error.message);
  return new ChatEngineError('engine_unavailable', String(error));
}

export function createChatEngine(options: ChatEngineOptions): ChatEngine {
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey || 'no-key',
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs,
  });
  return {
    model: options.model,
    async complete(request) {
      if (request.signal?.aborted) throw abortError(request.signal);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: options.model,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.user },
            ],
            max_tokens: request.maxTokens,
            temperature: 0,
          },
          { signal: request.signal },
        );
      } catch (error) {
        throw classifyChatError(error, request.signal);
      }
      const choice = completion.choices[0];
      if (!choice || typeof choice.message.content !== 'string') {
        throw new ChatEngineError('engine_unavailable', 'chat server answered no message');
      }
      return {
        text: choice.message.content,
        model: completion.model || options.model,
        usage: {
          promptTokens: completion.usage?.prompt_tokens ?? 0,
          completionTokens: completion.usage?.completion_tokens ?? 0,
        },
        truncated: choice.finish_reason === 'length',
      };
    },
  };
}
