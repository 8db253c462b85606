import { Router, static as serveStatic } from 'express';
import swaggerUi from 'swagger-ui-dist';
import { openApiDocument } from '../openapi.js';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>transcribe API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;

// A separate file, not an inline script: the Content-Security-Policy allows only 'self'.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true });`;

/** `/openapi.json` and an API reference page at `/docs`, served from local assets (no CDN). */
export function docsRouter(): Router {
  const router = Router();
  const document = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  router.use(
    '/docs/assets',
    serveStatic(swaggerUi.getAbsoluteFSPath(), { index: false, maxAge: '1d' }),
  );
  return router;
}
