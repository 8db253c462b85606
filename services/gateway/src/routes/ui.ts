import { Router, static as serveStatic } from 'express';
import { join } from 'node:path';

/** The small web UI: a static page and its script, from `dir` (services/gateway/ui). */
export function uiRouter(dir: string): Router {
  const router = Router();
  router.get('/', (_req, res) => res.sendFile(join(dir, 'index.html')));
  router.use('/ui', serveStatic(dir, { index: false, maxAge: '5m' }));
  return router;
}
