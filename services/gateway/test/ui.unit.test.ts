// The web UI's router on its own (an in-process server on port 0, nothing else): the
// config the page reads to know whether to offer enrichments, and the page's scripts,
// all from this origin and none inline, which is all the gateway's CSP allows
// (`script-src 'self'`; the browser test in packages/testkit proves it in Chromium).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { uiRouter, type UiOptions } from '../src/routes/ui.js';

const dir = join(__dirname, '..', 'ui');

async function serve(options?: UiOptions) {
  const server = express().use(uiRouter(dir, options)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise((resolve) => server.close(resolve)) };
}

it('tells the page whether enrichments can be asked for, never cached', async () => {
  const off = await serve();
  const on = await serve({ enrichmentsAvailable: true });
  try {
    const res = await fetch(`${off.base}/ui/config.json`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ enrichments: { available: false, kinds: [] } });
    expect(await (await fetch(`${on.base}/ui/config.json`)).json()).toEqual({
      enrichments: { available: true, kinds: ['clean', 'summary', 'notes', 'translate'] },
    });
  } finally {
    await off.close();
    await on.close();
  }
});

it('loads its scripts from this origin, in order, with no inline script or handler', async () => {
  const { base, close } = await serve();
  try {
    const html = await (await fetch(`${base}/`)).text();
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts).toEqual([
      'src="/ui/markdown.js"',
      'src="/ui/enrichments.js"',
      'src="/ui/app.js"',
    ]);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const asset of ['/ui/markdown.js', '/ui/enrichments.js', '/ui/app.js', '/ui/app.css']) {
      const res = await fetch(`${base}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      const text = await res.text();
      // Text only: the scripts never hand HTML to the DOM.
      expect({ asset, innerHTML: /innerHTML|outerHTML|insertAdjacentHTML/.test(text) }).toEqual({
        asset,
        innerHTML: false,
      });
    }
  } finally {
    await close();
  }
});
