/**
 * Waiting longer after each failure in a row: `firstMs`, then twice that, …, at most `maxMs`. The one
 * rule behind every retry loop of the program (a consumer's failed batch, a dead thread started again).
 */
export function doublingDelay(failures: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/** The delay before the next attempt, kept between failures; `reset` once things work again. */
export class Backoff {
  private failures = 0;
  constructor(
    readonly firstMs: number,
    readonly maxMs: number,
  ) {}

  /** Counts a failure and says how long to wait before the next attempt. */
  next(): number {
    this.failures++;
    return doublingDelay(this.failures, this.firstMs, this.maxMs);
  }

  reset(): void {
    this.failures = 0;
  }
}
