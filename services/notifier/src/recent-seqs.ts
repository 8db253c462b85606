/**
 * The highest seq dispatched live per job, over the last one to two windows (rotated by
 * the heartbeat), so it stays small whatever the number of jobs. It answers the question
 * an admission asks when it skips the replay read: "has any event of this job been
 * dispatched since I read its head?" — an event dispatched before the subscriber was
 * registered would otherwise be missed.
 */
export class RecentSeqs {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private generation = 0;

  note(jobId: string, seq: number): void {
    if (seq > (this.current.get(jobId) ?? 0)) this.current.set(jobId, seq);
  }

  /** Where "since" starts: take it before the read whose answer it qualifies. */
  mark(): number {
    return this.generation;
  }

  /**
   * The highest seq of `jobId` dispatched since `mark` (0: none), or Infinity when that
   * time is no longer covered (more than one rotation, or live events were lost since).
   */
  highestSince(jobId: string, mark: number): number {
    if (this.generation - mark > 1) return Infinity;
    return Math.max(this.current.get(jobId) ?? 0, this.previous.get(jobId) ?? 0);
  }

  rotate(): void {
    this.previous = this.current;
    this.current = new Map();
    this.generation++;
  }

  /** Live events may have been lost (broker reconnect): no earlier mark is trusted. */
  invalidate(): void {
    this.previous = new Map();
    this.current = new Map();
    this.generation += 2;
  }
}
