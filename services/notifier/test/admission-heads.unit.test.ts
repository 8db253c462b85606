// The two pieces that let an admission skip its replay read: RecentSeqs (was an event of the
// job dispatched since the head read?) and sharedHeadReads (one head read for the
// admissions that ask at the same time). Pure modules: `read` here is a plain function.
import { sharedHeadReads } from '../src/job-heads.js';
import { RecentSeqs } from '../src/recent-seqs.js';

describe('RecentSeqs', () => {
  it('reports the highest seq dispatched since a mark, across one rotation', () => {
    const recent = new RecentSeqs();
    const mark = recent.mark();
    expect(recent.highestSince('a', mark)).toBe(0);
    recent.note('a', 4);
    recent.note('a', 3);
    recent.rotate();
    expect(recent.highestSince('a', mark)).toBe(4);
    expect(recent.highestSince('b', mark)).toBe(0);
  });

  it('trusts no mark older than one rotation, nor any after an invalidation', () => {
    const recent = new RecentSeqs();
    const old = recent.mark();
    recent.rotate();
    recent.rotate();
    expect(recent.highestSince('a', old)).toBe(Infinity);
    const before = recent.mark();
    recent.invalidate();
    expect(recent.highestSince('a', before)).toBe(Infinity);
    expect(recent.highestSince('a', recent.mark())).toBe(0);
  });
});

describe('sharedHeadReads', () => {
  function reads(answers: (number | undefined)[]) {
    const calls: string[] = [];
    const resolvers: ((v: number | undefined) => void)[] = [];
    const read = (tenantId: string, jobId: string) => {
      calls.push(`${tenantId}/${jobId}`);
      return new Promise<number | undefined>((resolve) => resolvers.push(resolve));
    };
    const answer = () => {
      for (const resolve of resolvers.splice(0)) resolve(answers.shift());
    };
    return { read, calls, answer };
  }

  it('answers concurrent admissions of one job with one read and its mark', async () => {
    const r = reads([7]);
    let generation = 5;
    const head = sharedHeadReads(r.read, () => generation);
    const first = head('t', 'j');
    generation = 6; // a rotation after the read began: the answer keeps the earlier mark
    const second = head('t', 'j');
    r.answer();
    await expect(first).resolves.toEqual({ lastSeq: 7, mark: 5 });
    await expect(second).resolves.toEqual({ lastSeq: 7, mark: 5 });
    expect(r.calls).toEqual(['t/j']);
  });

  it('reads again once the shared read is over, and per job', async () => {
    const r = reads([1, 2, 3]);
    const head = sharedHeadReads(r.read, () => 0);
    const a = head('t', 'j');
    const b = head('t', 'k');
    r.answer();
    await Promise.all([a, b]);
    const c = head('t', 'j');
    r.answer();
    await expect(c).resolves.toEqual({ lastSeq: 3, mark: 0 });
    expect(r.calls).toEqual(['t/j', 't/k', 't/j']);
  });

  it('never shares "not found": a late joiner reads for itself', async () => {
    const r = reads([undefined, 4]);
    const head = sharedHeadReads(r.read, () => 0);
    const first = head('t', 'j');
    const joiner = head('t', 'j');
    r.answer(); // the shared read: not found
    await expect(first).resolves.toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    r.answer(); // the joiner's own read: the job exists by now
    await expect(joiner).resolves.toEqual({ lastSeq: 4, mark: 0 });
    expect(r.calls).toEqual(['t/j', 't/j']);
  });
});
