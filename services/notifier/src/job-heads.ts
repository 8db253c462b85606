/** A job's committed head as read at admission, and the RecentSeqs mark taken before it. */
export interface JobHead {
  lastSeq: number;
  mark: number;
}

/** The job's highest committed seq, undefined when the tenant has no such job. */
export type ReadHead = (tenantId: string, jobId: string) => Promise<number | undefined>;

/**
 * Reads of a job's head shared by the admissions that ask for it at the same time: after a
 * restart thousands of subscribers of one job reconnect together, and one query answers
 * all the requests that arrive while it runs.
 *
 * Why sharing stays exact: each answer carries the mark taken before its query, so an event
 * committed after the read is still noticed (see Hub.attach). A job found by a query that
 * began before a sharer asked may have been deleted meanwhile — as it may be just after a
 * query of its own, which no subscriber can rule out. "Not found" is never shared: a job
 * created while the query ran would be refused to a subscriber that joined it late.
 */
export function sharedHeadReads(
  read: ReadHead,
  mark: () => number,
): (tenantId: string, jobId: string) => Promise<JobHead | undefined> {
  const inFlight = new Map<string, Promise<JobHead | undefined>>();
  const readHead = (tenantId: string, jobId: string): Promise<JobHead | undefined> => {
    const at = mark();
    return read(tenantId, jobId).then((lastSeq) =>
      lastSeq === undefined ? undefined : { lastSeq, mark: at },
    );
  };
  return async (tenantId, jobId) => {
    const key = `${tenantId}/${jobId}`;
    const pending = inFlight.get(key);
    if (pending) return (await pending) ?? readHead(tenantId, jobId);
    const own = readHead(tenantId, jobId).finally(() => inFlight.delete(key));
    inFlight.set(key, own);
    return own;
  };
}
