/** A socket whose writes a batch holds back: corked on the first write, uncorked at flush. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Coalesces the frames written to many sockets into one write per socket. The first frame
 * for a socket corks it; the batch uncorks every corked socket together, at the end of the
 * loop turn (delay 0) or `delayMs` later.
 *
 * The delay is for large fan-outs. One event to 10k subscribers is 10k writev calls, about
 * as long as the broker takes to deliver the next few events, so without it a burst of
 * events goes out as one flush for the first and another for the rest, twice the system
 * calls of one. Holding the first for a few milliseconds lets its batch mates join it (as
 * Centrifugo's `client.write_delay` does); small fan-outs are cheap to flush and are sent
 * at the end of the turn whatever the setting.
 */
export class WriteBatch {
  private readonly held: Corkable[] = [];
  /** The turn's end, then (for a large batch) the delay: at most one of them pending. */
  private turn: NodeJS.Immediate | undefined;
  private delay: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    /** Fewer held sockets than this are flushed at the end of the turn. */
    private readonly delayFrom = 1000,
  ) {}

  /** Corks `socket` until the next flush; call once per socket per batch. */
  hold(socket: Corkable): void {
    socket.cork();
    this.held.push(socket);
    if (this.held.length === 1) this.turn = setImmediate(this.endOfTurn);
  }

  /** Uncorks every held socket now: the batch is empty afterwards. */
  readonly flush = (): void => {
    clearImmediate(this.turn);
    clearTimeout(this.delay);
    this.turn = this.delay = undefined;
    // Swapped out first: an uncork that errors synchronously may re-enter through `hold`.
    const held = this.held.splice(0);
    for (const socket of held) socket.uncork();
  };

  private readonly endOfTurn = (): void => {
    this.turn = undefined;
    if (this.delayMs > 0 && this.held.length >= this.delayFrom) {
      this.delay = setTimeout(this.flush, this.delayMs);
    } else {
      this.flush();
    }
  };
}
