import { Router, static as serveStatic } from 'express';
import { join } from 'node:path';
import { ENRICHMENT_KINDS, type EnrichmentKind } from '@transcribe/contracts';

/** What the page is told about this gateway: GatewaySettings fits (`uiRouter(dir, deps.settings)`). */
export interface UiOptions {
  /**
   * Whether enrichments can be asked for: the gateway has a chat engine configured
   * (ENRICH_BASE_URL). The upload form offers them only then. Default false.
   */
  enrichmentsAvailable?: boolean;
  /** MAX_UPLOAD_BYTES: the page refuses bigger files before sending a byte. */
  maxUploadBytes?: number;
  /** The notifier's base URL (PUBLIC_EVENTS_URL): the page follows the tenant's stream there. */
  eventsUrl?: string;
}

/** `GET /ui/config.json`: what the page needs to know about this gateway before the key is typed. */
export interface UiConfig {
  enrichments: { available: boolean; kinds: readonly EnrichmentKind[] };
  upload: { maxBytes: number | null };
  events: { url: string | null };
}

export function uiConfig(options: UiOptions): UiConfig {
  const available = options.enrichmentsAvailable ?? false;
  return {
    enrichments: { available, kinds: available ? ENRICHMENT_KINDS : [] },
    upload: { maxBytes: options.maxUploadBytes ?? null },
    events: { url: options.eventsUrl ?? null },
  };
}

/**
 * The web app: the page Vite built from services/gateway/web into `dir` (dist/ui), and
 * its config JSON. The config is public (no API key): it says only which features this
 * gateway offers, and the page reads it before a key is typed.
 */
export function uiRouter(dir: string, options: UiOptions = {}): Router {
  const router = Router();
  const config = uiConfig(options);
  router.get('/', (_req, res) =>
    res.set('cache-control', 'no-cache').sendFile(join(dir, 'index.html')),
  );
  // Before the static files, and never cached: it changes with the gateway's settings.
  router.get('/ui/config.json', (_req, res) => {
    res.set('cache-control', 'no-store').json(config);
  });
  // Vite names each asset by its content hash: a new build is a new name.
  router.use('/ui/assets', serveStatic(join(dir, 'assets'), { maxAge: '365d', immutable: true }));
  router.use('/ui', serveStatic(dir, { index: false, maxAge: '5m' }));
  return router;
}
