// The web app's build: plain TypeScript modules bundled into dist/ui, which the gateway
// serves at /ui (index.html at /). No framework, no CDN: every byte comes from the gateway.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The gateway's CSP allows scripts from itself only: no inline module-preload helper.
    modulePreload: { polyfill: false },
  },
});
