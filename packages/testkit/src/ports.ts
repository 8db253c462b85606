import { createServer } from 'node:net';

// Ports this process has handed out. A port is free again once its probe closes, so two
// calls (a gateway's and a notifier's, moments apart) could get the same one and the
// second service to bind it would fail with EADDRINUSE; the fault suite saw exactly that.
const handedOut = new Set<number>();

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A port that was free a moment ago, for child processes that need one up front; never
 * one this process has handed out before.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probe();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
