// Drives the forked load client (load-client.ts): one child per suite, one command at a time.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { LoadCommand, LoadResult } from './load-client.js';

export interface LoadClient {
  run(command: LoadCommand, boundMs: number): Promise<LoadResult>;
  close(): Promise<void>;
}

export async function startLoadClient(): Promise<LoadClient> {
  const child: ChildProcess = fork(new URL('./load-client.js', import.meta.url), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'spawn');
  return {
    async run(command, boundMs) {
      const answer = once(child, 'message') as Promise<[LoadResult | { error: string }]>;
      child.send(command);
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`load run passed ${boundMs} ms`)), boundMs);
      });
      try {
        const [result] = await Promise.race([answer, bound]);
        if ('error' in result) throw new Error(`load client: ${result.error}`);
        return result;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (child.exitCode === null) {
        child.kill();
        await once(child, 'exit');
      }
    },
  };
}
