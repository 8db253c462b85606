// The two pieces that let an admission skip its replay read: RecentSeqs (was an event of the
// job dispatched since the head read?) and sharedHeadReads (one head read for the
// admissions that ask at the same time, kept a moment for those that come after, dropped
// when the job is deleted). Pure modules: `read` here is a plain function.
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
    const head = sharedHeadReads(r.read, () => generation).read;
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
    const head = sharedHeadReads(r.read, () => 0).read;
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
    const head = sharedHeadReads(r.read, () => 0).read;
    const first = head('t', 'j');
    const joiner = head('t', 'j');
    r.answer(); // the shared read: not found
    await expect(first).resolves.toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    r.answer(); // the joiner's own read: the job exists by now
    await expect(joiner).resolves.toEqual({ lastSeq: 4, mark: 0 });
    expect(r.calls).toEqual(['t/j', 't/j']);
  });

  it('keeps a found head for keepMs, with the mark of its read', async () => {
    const r = reads([7, 8]);
    let generation = 1;
    const heads = sharedHeadReads(r.read, () => generation, { keepMs: 60_000 });
    const first = heads.read('t', 'j');
    r.answer();
    await expect(first).resolves.toEqual({ lastSeq: 7, mark: 1 });
    generation = 2;
    // Kept: no query, and the old mark, so events dispatched since are still noticed.
    await expect(heads.read('t', 'j')).resolves.toEqual({ lastSeq: 7, mark: 1 });
    expect(r.calls).toEqual(['t/j']);
  });

  it('keeps nothing with keepMs 0, and never "not found"', async () => {
    const r = reads([1, undefined, 2]);
    const unkept = sharedHeadReads(r.read, () => 0);
    const a = unkept.read('t', 'j');
    r.answer();
    await a;
    const b = unkept.read('t', 'k');
    r.answer();
    await expect(b).resolves.toBeUndefined();
    const kept = sharedHeadReads(r.read, () => 0, { keepMs: 60_000 });
    const c = kept.read('t', 'k');
    r.answer();
    await expect(c).resolves.toEqual({ lastSeq: 2, mark: 0 });
    expect(r.calls).toEqual(['t/j', 't/k', 't/k']);
  });

  it('reads afresh once the job is forgotten (deleted) or everything is cleared', async () => {
    const r = reads([1, undefined, 3, 4]);
    const heads = sharedHeadReads(r.read, () => 0, { keepMs: 60_000 });
    const first = heads.read('t', 'j');
    r.answer();
    await first;
    heads.forget('t', 'j');
    const gone = heads.read('t', 'j');
    r.answer();
    await expect(gone).resolves.toBeUndefined();
    const other = heads.read('t', 'k');
    r.answer();
    await other;
    heads.clear();
    const again = heads.read('t', 'k');
    r.answer();
    await expect(again).resolves.toEqual({ lastSeq: 4, mark: 0 });
    expect(r.calls).toEqual(['t/j', 't/j', 't/k', 't/k']);
  });

  it('a read in flight when its job is deleted answers its askers, but is neither kept nor joined', async () => {
    const r = reads([5, undefined, undefined]);
    const heads = sharedHeadReads(r.read, () => 0, { keepMs: 60_000 });
    const before = heads.read('t', 'j');
    heads.forget('t', 'j'); // heard while the query runs
    const after = heads.read('t', 'j'); // its own query, not the one begun before
    r.answer();
    await expect(before).resolves.toEqual({ lastSeq: 5, mark: 0 });
    await expect(after).resolves.toBeUndefined();
    const later = heads.read('t', 'j');
    r.answer();
    await expect(later).resolves.toBeUndefined();
    expect(r.calls).toEqual(['t/j', 't/j', 't/j']);
  });
});
