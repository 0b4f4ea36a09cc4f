/**
 * The memory syslog stream connections hold for frames they have not finished, bounded for all of them
 * together. Anyone can open a TCP connection and send most of a 1 MB frame without ever ending it; a thousand
 * of them held a gigabyte. So:
 *
 * - every connection's unfinished bytes count against one budget; when it is exceeded, the connections that
 *   have held their unfinished frame the longest are cut off first (a real sender finishes its frames within
 *   moments; a connection sitting on one is the likeliest abuser), until the total is back under it;
 * - a frame must be finished within `frameTimeoutMs` of the moment the connection started holding it.
 *
 * A connection paused by back-pressure (the pipeline is not keeping up) is neither timed nor cut: it is not
 * its fault, and TCP-acknowledged bytes it still has to deliver would be lost.
 */
export interface FrameHolder {
  /** Unfinished bytes it holds now. */
  held: number;
  /** When it started holding the frame it holds now (ms). */
  since: number;
  paused: boolean;
  /** Cuts the connection off (its unfinished frame is dropped); must call `release`. */
  cut(reason: "buffer_budget" | "frame_timeout"): void;
}

export class UnfinishedFrames {
  private total = 0;
  /** Holders with bytes, in the order they started holding (oldest first). */
  private readonly holders = new Set<FrameHolder>();

  constructor(
    private readonly budgetBytes: number,
    private readonly frameTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Unfinished bytes of all connections together. */
  get bytes(): number {
    return this.total;
  }

  /**
   * After a connection read: it now holds `bytes`; `newFrame` when a frame ended during the read (what it holds
   * now is a newer frame, so its clock starts again).
   */
  update(h: FrameHolder, bytes: number, newFrame: boolean): void {
    this.total += bytes - h.held;
    h.held = bytes;
    if (bytes === 0) {
      this.holders.delete(h);
      return;
    }
    if (newFrame || !this.holders.has(h)) {
      this.holders.delete(h);
      h.since = this.now();
      this.holders.add(h);
    }
    if (this.total > this.budgetBytes) this.evict(h);
  }

  release(h: FrameHolder): void {
    this.total -= h.held;
    h.held = 0;
    this.holders.delete(h);
  }

  pause(h: FrameHolder): void {
    h.paused = true;
  }

  resume(h: FrameHolder): void {
    h.paused = false;
    if (this.holders.has(h)) {
      this.holders.delete(h);
      h.since = this.now();
      this.holders.add(h);
    }
  }

  /** Cuts off the connections that have held an unfinished frame for longer than the frame timeout. */
  sweep(): void {
    const deadline = this.now() - this.frameTimeoutMs;
    for (const h of [...this.holders]) {
      if (h.since > deadline) break;
      if (!h.paused) h.cut("frame_timeout");
    }
  }

  /** Over budget: cut the oldest holders (paused ones excepted) until it is kept again. */
  private evict(current: FrameHolder): void {
    for (const h of [...this.holders]) {
      if (this.total <= this.budgetBytes) return;
      if (h === current || !h.paused) h.cut("buffer_budget");
    }
  }
}
