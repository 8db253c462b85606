import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_EVENT_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  signWebhook,
} from '@transcribe/contracts';
import {
  claimDueWebhookDeliveries,
  deferWebhookDelivery,
  ensureTenantWebhookSecret,
  recordWebhookAttempt,
  type Db,
  type WebhookDeliveryRow,
} from '@transcribe/db';
import { Counter, type Logger, type Registry } from '@transcribe/telemetry';
import {
  CircuitBreaker,
  originOf,
  type AttemptHealth,
  type CircuitState,
} from './circuit-breaker.js';
import { webhookEventType } from './payload.js';
import { backoffMs } from './retry-schedule.js';
import { postWebhook, type PostResult } from './sender.js';

export interface WebhookDispatcherSettings {
  pollMs: number;
  concurrency: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  allowPrivate: boolean;
  /** Consecutive failures of one receiver origin that open its circuit; 0: no breaker. */
  breakerThreshold: number;
  /** How long an open circuit defers that origin's deliveries before a probe. */
  breakerCooldownMs: number;
}

export interface WebhookDispatcher {
  /** Look for due deliveries now. */
  kick(): void;
  /** Stops polling and waits for attempts under way. */
  stop(): Promise<void>;
  /** This process's circuit for a receiver origin (operators' logs, tests). */
  circuit(origin: string): CircuitState;
}

/**
 * What an attempt says about its receiver: no answer (refused, reset, timeout), 5xx and 429
 * count against its origin; any other answer shows it alive; a refusal before sending says
 * nothing about it.
 */
function healthOf(result: PostResult): AttemptHealth {
  if (result.ok) return 'healthy';
  if (result.permanent && result.statusCode === null) return 'unsent';
  const code = result.statusCode;
  return code === null || code >= 500 || code === 429 ? 'unhealthy' : 'healthy';
}

/**
 * Sends due webhook deliveries. Retries live in Postgres (next_attempt_at), not in delay
 * queues: the schedule survives restarts and broker loss, every attempt is recorded next
 * to it, the redeliver API is one UPDATE, and any notifier picks up any due row (claimed
 * with SKIP LOCKED and a lease, so two never send the same attempt).
 */
export function startWebhookDispatcher(deps: {
  db: Db;
  logger: Logger;
  registry: Registry;
  settings: WebhookDispatcherSettings;
}): WebhookDispatcher {
  const { db, logger, settings } = deps;
  const attempts = new Counter({
    name: 'notifier_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome',
    labelNames: ['outcome'],
    registers: [deps.registry],
  });
  const breaker = new CircuitBreaker({
    threshold: settings.breakerThreshold,
    cooldownMs: settings.breakerCooldownMs,
    probeWaitMs: settings.timeoutMs + 1000,
  });
  const inFlight = new Set<Promise<void>>();
  let polling: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  /** Puts the delivery off while its receiver's circuit is open; not an attempt. */
  async function defer(delivery: WebhookDeliveryRow, delayMs: number): Promise<void> {
    const deferred = await deferWebhookDelivery(db, {
      deliveryId: delivery.id,
      attempts: delivery.attempts,
      delayMs,
    });
    attempts.inc({ outcome: deferred ? 'deferred' : 'superseded' });
    logger.debug({ deliveryId: delivery.id, delayMs }, 'webhook deferred: receiver circuit open');
  }

  async function attempt(delivery: WebhookDeliveryRow): Promise<void> {
    const origin = originOf(delivery.url);
    const admission = origin ? breaker.admit(origin) : { go: true as const, probe: false };
    if (!admission.go) return defer(delivery, admission.retryInMs);
    let health: AttemptHealth = 'unsent';
    try {
      health = await send(delivery);
    } finally {
      if (origin) breaker.record(origin, health, admission.probe);
    }
  }

  async function send(delivery: WebhookDeliveryRow): Promise<AttemptHealth> {
    const number = delivery.attempts + 1;
    const log = logger.child({ deliveryId: delivery.id, jobId: delivery.job_id, attempt: number });
    const secret = await ensureTenantWebhookSecret(db, delivery.tenant_id);
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const result: PostResult = await postWebhook(
      delivery.url,
      body,
      {
        'content-type': 'application/json',
        'user-agent': 'transcribe-webhooks/1',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
        [WEBHOOK_DELIVERY_HEADER]: delivery.id,
        [WEBHOOK_EVENT_HEADER]: webhookEventType(delivery),
      },
      { timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivate },
    );
    // A permanent failure (policy refusal, invalid URL, 410 Gone) is not retried: once.
    const outcome = result.ok
      ? 'succeeded'
      : result.permanent || delivery.attempts_left <= 1
        ? 'failed'
        : 'retry';
    const retryInMs =
      outcome === 'retry'
        ? backoffMs(number, settings.backoffBaseMs, settings.backoffMaxMs)
        : undefined;
    const recorded = await recordWebhookAttempt(db, {
      deliveryId: delivery.id,
      attempt: number,
      url: delivery.url,
      statusCode: result.statusCode,
      error: result.error,
      durationMs: result.durationMs,
      outcome,
      retryInMs,
    });
    attempts.inc({ outcome: recorded ? outcome : 'superseded' });
    const fields = {
      statusCode: result.statusCode,
      error: result.error,
      permanent: result.permanent,
      durationMs: result.durationMs,
      retryInMs,
    };
    if (outcome === 'succeeded') log.info(fields, 'webhook delivered');
    else
      log.warn(fields, outcome === 'failed' ? 'webhook failed for good' : 'webhook attempt failed');
    if (outcome === 'retry' && retryInMs !== undefined) {
      setTimeout(kick, retryInMs + 5).unref();
    }
    return healthOf(result);
  }

  async function poll(): Promise<void> {
    do {
      again = false;
      const room = settings.concurrency - inFlight.size;
      if (room <= 0 || stopped) return;
      // The lease outlives one attempt: a sender that dies only delays its deliveries.
      const due = await claimDueWebhookDeliveries(db, room, settings.timeoutMs + 30_000);
      for (const delivery of due) {
        const run = attempt(delivery)
          .catch((err: unknown) =>
            logger.error({ err, deliveryId: delivery.id }, 'webhook attempt crashed'),
          )
          .finally(() => {
            inFlight.delete(run);
            if (due.length === room) kick(); // a full batch: there may be more
          });
        inFlight.add(run);
      }
      if (due.length === room) again = true;
    } while (again && !stopped && inFlight.size < settings.concurrency);
  }

  function kick(): void {
    if (stopped) return;
    if (polling) {
      again = true;
      return;
    }
    polling = poll()
      .catch((err: unknown) => logger.warn({ err }, 'webhook poll failed'))
      .finally(() => (polling = undefined));
  }

  const timer = setInterval(kick, settings.pollMs);
  timer.unref();
  kick();
  return {
    kick,
    circuit: (origin) => breaker.state(origin),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling;
      await Promise.all(inFlight);
    },
  };
}
