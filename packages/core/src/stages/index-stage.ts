import { decodeProcessedDocs } from "../processed-batch";
import type { DeadLetter } from "../dead-letter";
import type { IndexPort, IndexWriteResult } from "../ports/index";
import type { QueueRecord } from "../ports/queue";
import { receivedAtOf, type IndexedUsage } from "../usage";
import { recordDeadLetter, type RecordOutcome, type Stage, type StageResult } from "./stage";

/**
 * The index stage: processed records → the index, in bulk (across tenants where the index can), idempotent by event id. An event
 * the index refuses goes to the dead letters on its own; a transient index failure retries the records
 * it touched (already stored events then come back as "exists").
 */
export function createIndexStage(options: { index: IndexPort; stageName?: string }): Stage {
  const stageName = options.stageName ?? "index";
  return async (records: QueueRecord[]): Promise<StageResult> => {
    const outcomes: RecordOutcome[] = records.map(() => ({ status: "ok" }));
    const deadLetters: DeadLetter[] = [];
    // Per tenant: the documents and, for each, the record it came from.
    const byTenant = new Map<string, { docs: string[]; from: number[] }>();
    let eventsIn = 0;
    records.forEach((record, i) => {
      try {
        const { tenant, docs } = decodeProcessedDocs(record.value);
        let t = byTenant.get(tenant);
        if (!t) byTenant.set(tenant, (t = { docs: [], from: [] }));
        for (const d of docs) {
          t.docs.push(d);
          t.from.push(i);
        }
        eventsIn += docs.length;
      } catch (err) {
        outcomes[i] = { status: "dead", reason: "unparseable_record", error: (err as Error).message };
      }
    });
    let eventsOut = 0;
    const indexed: IndexedUsage[] = [];
    const tenants = [...byTenant];
    // One cross-tenant write when the index has it (OpenSearch: one stream of bulk requests for the
    // batch instead of a round trip per tenant in sequence), else tenant by tenant.
    let all: (IndexWriteResult[] | Error)[] | undefined;
    if (options.index.writeMany && tenants.length > 0) {
      try {
        all = await options.index.writeMany(tenants.map(([tenant, { docs }]) => ({ tenant, docs })));
      } catch (err) {
        all = tenants.map(() => err as Error);
      }
    }
    for (const [n, [tenant, { docs, from }]] of tenants.entries()) {
      let results: IndexWriteResult[] | Error;
      if (all) results = all[n]!;
      else {
        try {
          results = await options.index.write(tenant, docs);
        } catch (err) {
          results = err as Error;
        }
      }
      if (results instanceof Error) {
        for (const i of new Set(from)) outcomes[i] = { status: "retry", error: `index write failed: ${results.message}` };
        continue;
      }
      // Usage counts first writes only: a repeat (a retried batch, a replay) was counted when it was created.
      const usage: IndexedUsage = { tenant, events: 0, bytes: 0, lagsMs: [] };
      const storedAt = Date.now();
      results.forEach((r, k) => {
        const i = from[k]!;
        if (r.status === "created") {
          const doc = docs[k]!;
          usage.events++;
          usage.bytes += Buffer.byteLength(doc);
          const receivedAt = receivedAtOf(doc);
          if (Number.isFinite(receivedAt)) usage.lagsMs.push(Math.max(0, storedAt - receivedAt));
        }
        if (r.status === "created" || r.status === "exists") eventsOut++;
        else if (r.status === "retry") {
          if (outcomes[i]!.status === "ok") outcomes[i] = { status: "retry", error: r.error ?? "index asked for a retry" };
        } else {
          deadLetters.push({ stage: stageName, reason: "index_rejected", error: r.error ?? "rejected by the index", at: Date.now(), tenant, bytes: Buffer.from(docs[k]!).toString("base64"), source: `${records[i]!.topic}-${records[i]!.partition}@${records[i]!.offset}` });
        }
      });
      if (usage.events > 0) indexed.push(usage);
    }
    records.forEach((record, i) => {
      const o = outcomes[i]!;
      if (o.status === "dead") deadLetters.push(recordDeadLetter(stageName, record, o.reason, o.error));
    });
    return { outcomes, output: [], deadLetters, eventsIn, eventsOut, indexed };
  };
}
