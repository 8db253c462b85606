import { LRUCache } from 'lru-cache';

/** A job's committed head as read at admission, and the RecentSeqs mark taken before it. */
export interface JobHead {
  lastSeq: number;
  mark: number;
}

/** The job's highest committed seq, undefined when the tenant has no such job. */
export type ReadHead = (tenantId: string, jobId: string) => Promise<number | undefined>;

export interface JobHeads {
  /** The job's head with the mark taken before it was read; undefined: no such job. */
  read(tenantId: string, jobId: string): Promise<JobHead | undefined>;
  /** The job was deleted: its head is read afresh from now on. */
  forget(tenantId: string, jobId: string): void;
  /** Deletions may have gone unheard (the feed reconnected): every head is read afresh. */
  clear(): void;
}

/**
 * Reads of a job's head, shared by the admissions that ask for it at the same time and kept
 * for `keepMs` after: after a restart thousands of subscribers of one job reconnect together,
 * and one query answers them all.
 *
 * Why a kept head stays exact about events: each answer carries the mark taken before its
 * query, so an event committed after the read is still noticed (see Hub.attach), however
 * old the answer. What it can be wrong about is existence: a job deleted since. Deletions
 * are announced (Postgres NOTIFY on every deleted job row, see `forget`), and `keepMs`
 * bounds the wrong answer should that message be lost. A query that was in flight when a
 * deletion was heard is used by its own askers, as any query that began just before a
 * deletion would be, but neither kept nor shared with later askers. "Not found" is never
 * shared nor kept: a job created while the query ran would be refused to a subscriber
 * that joined it late.
 */
export function sharedHeadReads(
  read: ReadHead,
  mark: () => number,
  options: { keepMs?: number; maxKept?: number } = {},
): JobHeads {
  const inFlight = new Map<string, Promise<JobHead | undefined>>();
  const keepMs = options.keepMs ?? 0;
  const kept =
    keepMs > 0
      ? new LRUCache<string, JobHead>({ max: options.maxKept ?? 10_000, ttl: keepMs })
      : undefined;
  // A deletion heard while a query was in flight must win over the query's answer.
  let deletions = 0;

  const readHead = (tenantId: string, jobId: string): Promise<JobHead | undefined> => {
    const at = mark();
    return read(tenantId, jobId).then((lastSeq) =>
      lastSeq === undefined ? undefined : { lastSeq, mark: at },
    );
  };
  return {
    async read(tenantId, jobId) {
      const key = `${tenantId}/${jobId}`;
      const known = kept?.get(key);
      if (known) return known;
      const pending = inFlight.get(key);
      if (pending) return (await pending) ?? readHead(tenantId, jobId);
      const seen = deletions;
      const own = readHead(tenantId, jobId)
        .then((head) => {
          if (head && seen === deletions) kept?.set(key, head);
          return head;
        })
        .finally(() => {
          if (inFlight.get(key) === own) inFlight.delete(key);
        });
      inFlight.set(key, own);
      return own;
    },
    forget(tenantId, jobId) {
      deletions++;
      const key = `${tenantId}/${jobId}`;
      kept?.delete(key);
      inFlight.delete(key);
    },
    clear() {
      deletions++;
      kept?.clear();
      inFlight.clear();
    },
  };
}
