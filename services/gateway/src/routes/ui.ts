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
}

/** `GET /ui/config.json`: what the page needs to know about this gateway before the key is typed. */
export interface UiConfig {
  enrichments: { available: boolean; kinds: readonly EnrichmentKind[] };
}

export function uiConfig(options: UiOptions): UiConfig {
  const available = options.enrichmentsAvailable ?? false;
  return { enrichments: { available, kinds: available ? ENRICHMENT_KINDS : [] } };
}

/**
 * The small web UI: a static page and its scripts, from `dir` (services/gateway/ui), and
 * its config JSON. The config is public (no API key): it says only which features this
 * gateway offers, and the page reads it before a key is typed.
 */
export function uiRouter(dir: string, options: UiOptions = {}): Router {
  const router = Router();
  const config = uiConfig(options);
  router.get('/', (_req, res) => res.sendFile(join(dir, 'index.html')));
  // Before the static files, and never cached: it changes with the gateway's settings.
  router.get('/ui/config.json', (_req, res) => {
    res.set('cache-control', 'no-store').json(config);
  });
  router.use('/ui', serveStatic(dir, { index: false, maxAge: '5m' }));
  return router;
}
