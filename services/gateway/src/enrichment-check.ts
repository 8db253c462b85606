import type { GatewaySettings } from './deps.js';
import { HttpError } from './http-error.js';

/**
 * Enrichments need a chat engine (ENRICH_BASE_URL). Without one they are refused before
 * anything is written: a job whose enrichments could never run would wait forever, and a
 * job created without them would silently drop what was asked for.
 */
export function assertEnrichmentsAvailable(
  settings: Pick<GatewaySettings, 'enrichmentsAvailable'>,
  requested: readonly unknown[] | undefined,
): void {
  if (!requested?.length || settings.enrichmentsAvailable) return;
  throw new HttpError(
    503,
    'enrichment_unavailable',
    'enrichments are not available here: no chat engine is configured (set ENRICH_BASE_URL on the gateway and the workers)',
  );
}
