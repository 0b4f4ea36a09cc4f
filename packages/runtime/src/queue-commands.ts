import path from "node:path";
import { decodeDeadLetter, decodeRawBatch, DEAD_LETTER_TOPIC, RAW_TOPIC } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";

function openReadOnly(dataDir: string): Promise<EmbeddedQueue> {
  return EmbeddedQueue.open({ dir: path.join(path.resolve(dataDir), "queue"), readOnly: true });
}

export async function queueTopicsCommand(opts: { dataDir: string; json?: boolean }): Promise<void> {
  const queue = await openReadOnly(opts.dataDir);
  try {
    const topics = await queue.listTopics();
    const out: Record<string, { partition: number; start: number; end: number }[]> = {};
    for (const t of topics) out[t] = await queue.admin.offsets(t);
    if (opts.json) {
      process.stdout.write(JSON.stringify(out) + "\n");
      return;
    }
    if (topics.length === 0) process.stdout.write("no topics yet (start the server once)\n");
    for (const [t, parts] of Object.entries(out)) {
      const records = parts.reduce((n, p) => n + (p.end - p.start), 0);
      process.stdout.write(`${t}  ${parts.length} partitions, ${records} records retained\n`);
      for (const p of parts) process.stdout.write(`  ${p.partition}: offsets ${p.start}..${p.end}\n`);
    }
  } finally {
    await queue.close();
  }
}

/** Prints records as JSON lines; raw batches are unpacked into their events, with their queue position. */
export async function queueReadCommand(opts: { dataDir: string; topic: string; partition?: number; offset?: number; limit?: number }): Promise<void> {
  const queue = await openReadOnly(opts.dataDir);
  try {
    const partitions = await queue.admin.offsets(opts.topic);
    let printed = 0;
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    for (const p of partitions) {
      if (opts.partition !== undefined && p.partition !== opts.partition) continue;
      let offset = opts.offset ?? p.start;
      while (offset < p.end && printed < limit) {
        const records = await queue.reader.read(opts.topic, p.partition, offset, 500);
        if (records.length === 0) break;
        for (const r of records) {
          const position = { partition: r.partition, offset: r.offset };
          if (opts.topic === RAW_TOPIC) {
            try {
              for (const e of decodeRawBatch(r.value).events) {
                if (printed++ >= limit) break;
                process.stdout.write(JSON.stringify({ ...position, ...e }) + "\n");
              }
            } catch (err) {
              process.stdout.write(JSON.stringify({ ...position, error: (err as Error).message }) + "\n");
              printed++;
            }
          } else if (opts.topic === DEAD_LETTER_TOPIC) {
            process.stdout.write(JSON.stringify({ ...position, ...decodeDeadLetter(r.value) }) + "\n");
            printed++;
          } else {
            process.stdout.write(JSON.stringify({ ...position, key: r.key, timestamp: r.timestamp, value: r.value.toString("utf8") }) + "\n");
            printed++;
          }
          if (printed >= limit) break;
        }
        offset = records[records.length - 1]!.offset + 1;
      }
    }
  } finally {
    await queue.close();
  }
}
