import { DEAD_LETTER_TOPIC, deadLetterBytes, encodeDeadLetter, errorFields, noLogger, type Counter, type DeadLetter, type Logger, type QueueProducer, type UsageObserver } from "@unmeltable/core";

export interface DeadLetterLimits {
  /** At most this many bytes of a refused message are kept in its dead letter (the rest is counted, not stored). */
  maxLetterBytes: number;
  /** Refused messages stored per second, in bytes (a one-second burst); beyond it they are only counted. */
  bytesPerSecond: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = {
  maxLetterBytes: 16 * 1024,
  bytesPerSecond: 1024 * 1024,
};

/** What a letter costs besides its bytes (reason, error text, source, JSON), for the byte budget. */
const LETTER_OVERHEAD = 256;

/**
 * Writes dead letters to the dead-letter topic, batched, retried until durable, and counted by reason,
 * so that what the collector refuses is still on record and visible on a dashboard.
 *
 * What the collector refuses comes from anyone who can reach a port (an unknown token costs nothing to
 * send), so storing it is bounded: a letter keeps the first `maxLetterBytes` of the message, and letters are
 * stored within a byte budget per second. Every refused message is counted in
 * unmeltable_dropped_events_total with its reason; those over the budget are counted a second time in
 * unmeltable_dead_letters_unstored_total and not stored.
 */
export class DeadLetterWriter {
  private pending: DeadLetter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly limits: DeadLetterLimits;
  private readonly unstored: Counter | undefined;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly usage: UsageObserver | undefined;
  private readonly logger: Logger;
  /** Token bucket of the byte budget. */
  private allowance: number;
  private refilledAt: number;

  constructor(
    private readonly producer: QueueProducer,
    private readonly dropped: Counter,
    options: { limits?: Partial<DeadLetterLimits>; unstored?: Counter; maxPending?: number; now?: () => number; usage?: UsageObserver; logger?: Logger } = {},
  ) {
    this.usage = options.usage;
    this.logger = options.logger ?? noLogger;
    this.limits = { ...DEFAULT_DEAD_LETTER_LIMITS, ...options.limits };
    this.unstored = options.unstored;
    this.maxPending = options.maxPending ?? 10_000;
    this.now = options.now ?? Date.now;
    this.allowance = this.limits.bytesPerSecond;
    this.refilledAt = this.now();
  }

  /** Records a refused message: `bytes` as received (a prefix of it is kept), within the byte budget. */
  refuse(letter: Omit<DeadLetter, "bytes" | "bytesLength">, bytes: Buffer): void {
    // A tenant's refused event is its usage whether or not the letter fits the budget.
    if (letter.tenant) this.usage?.deadLettered(letter.tenant, 1, bytes.length);
    const kept = bytes.length > this.limits.maxLetterBytes ? bytes.subarray(0, this.limits.maxLetterBytes) : bytes;
    if (!this.spend(kept.length + LETTER_OVERHEAD + letter.error.length)) {
      this.dropped.inc({ reason: letter.reason, stage: letter.stage });
      this.unstored?.inc({ reason: letter.reason, stage: letter.stage });
      return;
    }
    const full: DeadLetter = { ...letter, bytes: kept.toString("base64") };
    if (kept.length < bytes.length) full.bytesLength = bytes.length;
    this.push(full);
  }

  /** Counts a refused message that is not stored at all (e.g. while the queue cannot take writes). */
  countOnly(reason: DeadLetter["reason"], stage: string, events = 1): void {
    this.dropped.inc({ reason, stage }, events);
    this.unstored?.inc({ reason, stage }, events);
  }

  write(letter: DeadLetter): void {
    if (letter.tenant) this.usage?.deadLettered(letter.tenant, 1, deadLetterBytes(letter));
    this.push(letter);
  }

  private push(letter: DeadLetter): void {
    this.dropped.inc({ reason: letter.reason, stage: letter.stage });
    this.pending.push(letter);
    if (this.pending.length >= this.maxPending) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), 20);
  }

  async flush(): Promise<void> {
    this.flushNow();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private spend(cost: number): boolean {
    const now = this.now();
    const rate = this.limits.bytesPerSecond;
    this.allowance = Math.min(rate, this.allowance + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.allowance < cost) return false;
    this.allowance -= cost;
    return true;
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const letters = this.pending;
    this.pending = [];
    const records = letters.map((l) => ({ key: l.tenant ?? "_none", value: encodeDeadLetter(l) }));
    const task = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.producer.send(DEAD_LETTER_TOPIC, records);
          if (attempt > 0) this.logger.info("dead letters written after retries", { letters: records.length, attempts: attempt + 1 });
          return;
        } catch (err) {
          // Retried until durable (the queue comes back, or the process stops); said on the first
          // failure and every 10th, so that an outage shows without flooding the log.
          const waitMs = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
          if (attempt === 0 || (attempt + 1) % 10 === 0) this.logger.warn("could not write dead letters; retrying", { letters: records.length, attempt: attempt + 1, retryInMs: waitMs, ...errorFields(err) });
          await new Promise((r) => setTimeout(r, waitMs));
        }
      }
    })();
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
  }
}
