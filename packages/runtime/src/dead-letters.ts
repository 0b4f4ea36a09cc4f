import { DEAD_LETTER_TOPIC, decodeDeadLetters, planRedrive, REDRIVEN_TOPIC, type DeadLetter, type OutgoingRecord, type Queue, type QueueProducer, type RedrivePlan, type TenantDirectory } from "@unmeltable/core";

/**
 * Dead letters over the queue port (the embedded queue or Kafka alike): listing them, and sending the
 * redrivable ones back into the pipeline exactly once. Each redriven letter is recorded in
 * REDRIVEN_TOPIC after what it became is durable, so a rerun skips it; a crash in between sends it
 * again with the same event ids, which the index keeps once.
 */
export interface DeadLetterFilter {
  reason?: string;
  /** The letter's tenant, or for an unknown token the tenant it belongs to now. */
  tenant?: string;
  /** "index" also matches the index stages of every tier ("index.default"...). */
  stage?: string;
  /** Only letters written at or after `from` and before `until` (epoch ms). */
  from?: number;
  until?: number;
}

export interface FoundLetter {
  partition: number;
  offset: number;
  /** "partition@offset", and ".i" for the i-th of several letters in one record (Lambda's on-failure records). */
  position: string;
  letter: DeadLetter;
  plan: RedrivePlan;
  redriven: boolean;
}

export interface RedriveProgress {
  scanned: number;
  total: number;
  redriven: number;
}

export interface RedriveReport {
  /** Dead letters that matched the filter. */
  matched: number;
  redriven: number;
  /** Matched, and redriven by an earlier run. */
  alreadyRedriven: number;
  /** Matched and not redrivable, counted by why. */
  skipped: Record<string, number>;
  /** Records sent on, per topic. */
  topics: Record<string, number>;
}

const PAGE = 500;

/** Every dead letter matching `filter`, page by page, with its plan and whether it was redriven. */
export async function* scanDeadLetters(queue: Queue, tenants: TenantDirectory, filter: DeadLetterFilter, onPage?: (p: { scanned: number; total: number }) => void): AsyncGenerator<FoundLetter[]> {
  const done = await redrivenPositions(queue);
  let partitions;
  try {
    partitions = await queue.admin.offsets(DEAD_LETTER_TOPIC);
  } catch {
    return; // no dead-letter topic yet: nothing was ever dead-lettered
  }
  const total = partitions.reduce((n, p) => n + (p.end - p.start), 0);
  let scanned = 0;
  for (const { partition, start, end } of partitions) {
    let offset = start;
    while (offset < end) {
      const records = await queue.reader.read(DEAD_LETTER_TOPIC, partition, offset, Math.min(PAGE, end - offset));
      if (records.length === 0) break;
      const page: FoundLetter[] = [];
      for (const r of records) {
        if (r.offset >= end) break;
        let letters: DeadLetter[];
        try {
          letters = decodeDeadLetters(r.value);
        } catch {
          continue; // not a dead letter: neither this program's nor Lambda's
        }
        letters.forEach((letter, i) => {
          const position = letters.length === 1 ? `${partition}@${r.offset}` : `${partition}@${r.offset}.${i}`;
          const plan = planRedrive(letter, position, tenants);
          if (matches(letter, plan, filter)) page.push({ partition, offset: r.offset, position, letter, plan, redriven: done.has(position) });
        });
      }
      scanned += records.length;
      offset = records[records.length - 1]!.offset + 1;
      onPage?.({ scanned, total });
      if (page.length > 0) yield page;
    }
  }
}

/**
 * Sends the matching, redrivable, not yet redriven dead letters back: unknown tokens and processing
 * failures to the raw topic, index failures to their processed topic.
 */
export async function redriveDeadLetters(options: {
  queue: Queue;
  producer: QueueProducer;
  tenants: TenantDirectory;
  filter: DeadLetterFilter;
  onProgress?: (p: RedriveProgress) => void;
}): Promise<RedriveReport> {
  const { queue, producer } = options;
  await queue.admin.ensureTopics([{ name: REDRIVEN_TOPIC, partitions: 1 }]);
  const report: RedriveReport = { matched: 0, redriven: 0, alreadyRedriven: 0, skipped: {}, topics: {} };
  let progress = { scanned: 0, total: 0 };
  for await (const page of scanDeadLetters(queue, options.tenants, options.filter, (p) => (progress = p))) {
    const byTopic = new Map<string, OutgoingRecord[]>();
    const ledger: OutgoingRecord[] = [];
    for (const f of page) {
      report.matched++;
      if (f.redriven) {
        report.alreadyRedriven++;
        continue;
      }
      if ("skip" in f.plan) {
        report.skipped[f.plan.skip] = (report.skipped[f.plan.skip] ?? 0) + 1;
        continue;
      }
      let list = byTopic.get(f.plan.topic);
      if (!list) byTopic.set(f.plan.topic, (list = []));
      list.push(f.plan.record);
      ledger.push({ key: f.position, partition: 0, value: Buffer.from(JSON.stringify({ partition: f.partition, offset: f.offset, topic: f.plan.topic, at: Date.now() })) });
    }
    // What the letters become is durable before they are recorded as redriven.
    for (const [topic, records] of byTopic) {
      await producer.send(topic, records);
      report.topics[topic] = (report.topics[topic] ?? 0) + records.length;
    }
    if (ledger.length > 0) await producer.send(REDRIVEN_TOPIC, ledger);
    report.redriven += ledger.length;
    options.onProgress?.({ ...progress, redriven: report.redriven });
  }
  options.onProgress?.({ ...progress, scanned: progress.total, redriven: report.redriven });
  return report;
}

/** "partition@offset" of every dead letter redriven so far. */
async function redrivenPositions(queue: Queue): Promise<Set<string>> {
  const out = new Set<string>();
  let partitions;
  try {
    partitions = await queue.admin.offsets(REDRIVEN_TOPIC);
  } catch {
    return out; // never redriven anything
  }
  for (const { partition, start, end } of partitions) {
    let offset = start;
    while (offset < end) {
      const records = await queue.reader.read(REDRIVEN_TOPIC, partition, offset, Math.min(5000, end - offset));
      if (records.length === 0) break;
      for (const r of records) if (r.key) out.add(r.key);
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  return out;
}

function matches(letter: DeadLetter, plan: RedrivePlan, filter: DeadLetterFilter): boolean {
  if (filter.reason !== undefined && letter.reason !== filter.reason) return false;
  if (filter.from !== undefined && letter.at < filter.from) return false;
  if (filter.until !== undefined && letter.at >= filter.until) return false;
  if (filter.stage !== undefined && letter.stage !== filter.stage && !letter.stage.startsWith(`${filter.stage}.`)) return false;
  if (filter.tenant !== undefined && letter.tenant !== filter.tenant && !("tenant" in plan && plan.tenant === filter.tenant)) return false;
  return true;
}
