// The web UI's router on its own (an in-process server on port 0, nothing else): the
// config the page reads to know whether to offer enrichments, and the page Vite built
// (`pnpm build` → dist/ui), all from this origin with no inline script, which is all the
// gateway's CSP allows (`script-src 'self'`; the browser tests in packages/testkit prove
// it in Chromium).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { uiRouter, type UiOptions } from '../src/routes/ui.js';

const dir = join(__dirname, '..', 'dist', 'ui');

async function serve(options?: UiOptions) {
  const server = express().use(uiRouter(dir, options)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise((resolve) => server.close(resolve)) };
}

it('tells the page what this gateway offers, never cached', async () => {
  const off = await serve();
  const on = await serve({
    enrichmentsAvailable: true,
    maxUploadBytes: 1024,
    eventsUrl: 'http://notifier:8081',
  });
  try {
    const res = await fetch(`${off.base}/ui/config.json`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      enrichments: { available: false, kinds: [] },
      upload: { maxBytes: null },
      events: { url: null },
    });
    expect(await (await fetch(`${on.base}/ui/config.json`)).json()).toEqual({
      enrichments: { available: true, kinds: ['clean', 'summary', 'notes', 'translate'] },
      upload: { maxBytes: 1024 },
      events: { url: 'http://notifier:8081' },
    });
  } finally {
    await off.close();
    await on.close();
  }
});

it('serves the built page: one module script from this origin, no inline script or handler', async () => {
  const { base, close } = await serve();
  try {
    const html = await (await fetch(`${base}/`)).text();
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toMatch(/type="module".* src="\/ui\/assets\/index-[\w-]+\.js"/);
    expect(scripts[0]![2]).toBe('');
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${base}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      // Content-hashed names: cached for good.
      expect(res.headers.get('cache-control')).toContain('immutable');
      const text = await res.text();
      // Text only: the app never hands HTML to the DOM.
      expect({ asset, innerHTML: /\.innerHTML|outerHTML|insertAdjacentHTML/.test(text) }).toEqual({
        asset,
        innerHTML: false,
      });
    }
  } finally {
    await close();
  }
});
