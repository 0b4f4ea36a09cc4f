import { DEAD_LETTER_TOPIC, encodeDeadLetter, type Counter, type DeadLetter, type QueueProducer } from "@unmeltable/core";

/**
 * Writes dead letters to the dead-letter topic, batched, retried until durable, and counted by reason,
 * so that what the collector refuses is still on record and visible on a dashboard.
 */
export class DeadLetterWriter {
  private pending: DeadLetter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly producer: QueueProducer,
    private readonly dropped: Counter,
    private readonly maxPending = 10_000,
  ) {}

  write(letter: DeadLetter): void {
    this.dropped.inc({ reason: letter.reason, stage: letter.stage });
    this.pending.push(letter);
    if (this.pending.length >= this.maxPending) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), 20);
  }

  async flush(): Promise<void> {
    this.flushNow();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
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
          return;
        } catch {
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))));
        }
      }
    })();
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
  }
}
