import { createInterface } from "node:readline";
import zlib from "node:zlib";
import {
  createIndexStage,
  createProcessStage,
  dayOf,
  dayPrefix,
  encodeRawBatch,
  manifestKey,
  ObjectNotFoundError,
  parseDay,
  type ArchiveManifest,
  type DerivedRuleSource,
  type IndexWriteResult,
  type IndexPort,
  type ObjectStore,
  type QueueRecord,
  type RawRecord,
} from "@unmeltable/core";

/**
 * Replay: a tenant's archived raw events fed back through the process and index stages — the same stage
 * code the pipeline runs, with the tenant's derived-field rules as they are now. Event ids never change,
 * so replaying what is indexed adds nothing ("exists"), and replaying after an index was lost rebuilds it;
 * with `replace`, the events already indexed are stored again in place (today's derived fields applied
 * to archived days).
 */
export interface ReplayOptions {
  store: ObjectStore;
  index: IndexPort;
  tenant: string;
  /** Epoch ms, inclusive. */
  from: number;
  until: number;
  onProgress?: (p: { files: number; filesDone: number; events: number }) => void;
  /** The tenant's derived-field rules (applied as the process stage applies them). */
  derived?: DerivedRuleSource;
  /** Stores events in place of those with the same ids (EmbeddedIndex.replace): re-derive, not skip. */
  replace?: (tenant: string, docs: string[]) => Promise<(IndexWriteResult & { replaced?: boolean })[]>;
}

export interface ReplayResult {
  files: number;
  events: number;
  /** Stored now / already there / refused by the index; `replaced`: of `indexed`, stored again in place. */
  indexed: number;
  existing: number;
  replaced: number;
  rejected: number;
}

const BATCH = 2000;

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { store, tenant, from, until } = options;
  const keys: string[] = [];
  for (let day = parseDay(dayOf(from)); day <= until; day += 86_400_000) {
    const inRange = (hour: number) => day + hour * 3_600_000 + 3_600_000 > from && day + hour * 3_600_000 <= until;
    const manifest = await readManifest(store, dayOf(day));
    if (manifest) {
      // The manifest lists what completed pieces wrote (nothing of a piece still being redone).
      for (const f of manifest.files) if (f.tenant === tenant && inRange(f.hour)) keys.push(f.key);
      continue;
    }
    // No manifest (an archive copied without it): the tenant's objects of the day, by their hour.
    const prefix = `${dayPrefix(dayOf(day))}${tenant}/`;
    for (const key of await store.list(prefix)) if (key.endsWith(".ndjson.gz") && inRange(Number(key.slice(prefix.length, prefix.length + 2)))) keys.push(key);
  }
  // The index's own counts tell created from already-present events; the stage only reports totals.
  const counting = countingIndex(options.index, options.replace);
  const processStage = createProcessStage({ tierOf: () => "replay", derived: options.derived });
  const indexStage = createIndexStage({ index: counting.index, stageName: "replay" });
  const result: ReplayResult = { files: keys.length, events: 0, indexed: 0, existing: 0, replaced: 0, rejected: 0 };
  let pending: RawRecord[] = [];
  let offset = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const raw: QueueRecord = { topic: "replay", partition: 0, offset: offset++, key: tenant, value: encodeRawBatch(tenant, "replay", pending), timestamp: Date.now(), headers: {} };
    pending = [];
    const processed = await processStage([raw]);
    const records: QueueRecord[] = processed.output.flatMap((o) => o.records.map((r) => ({ topic: o.topic, partition: 0, offset: offset++, key: r.key, value: r.value, timestamp: Date.now(), headers: {} })));
    const indexed = await indexStage(records);
    const retry = indexed.outcomes.find((o) => o.status === "retry");
    if (retry) throw new Error(`the index is not taking writes: ${(retry as { error: string }).error}`);
  };
  let filesDone = 0;
  for (const key of keys) {
    const lines = createInterface({ input: (await store.get(key)).pipe(zlib.createGunzip()), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line === "") continue;
      const e = JSON.parse(line) as RawRecord;
      if (e.tenant !== tenant || e.receivedAt < from || e.receivedAt > until) continue;
      pending.push(e);
      result.events++;
      if (pending.length >= BATCH) await flush();
    }
    filesDone++;
    options.onProgress?.({ files: keys.length, filesDone, events: result.events });
  }
  await flush();
  Object.assign(result, counting.counts);
  return result;
}

async function readManifest(store: ObjectStore, day: string): Promise<ArchiveManifest | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(manifestKey(day))) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ArchiveManifest;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

function countingIndex(inner: IndexPort, replace: ReplayOptions["replace"]) {
  const counts = { indexed: 0, existing: 0, replaced: 0, rejected: 0 };
  const index: IndexPort = {
    ...inner,
    search: inner.search.bind(inner),
    count: inner.count.bind(inner),
    facet: inner.facet.bind(inner),
    histogram: inner.histogram.bind(inner),
    fields: inner.fields.bind(inner),
    close: inner.close.bind(inner),
    write: async (t, docs) => {
      const results: (IndexWriteResult & { replaced?: boolean })[] = replace ? await replace(t, docs) : await inner.write(t, docs);
      for (const r of results) {
        if (r.replaced) counts.replaced++;
        if (r.status === "created") counts.indexed++;
        else if (r.status === "exists") counts.existing++;
        else if (r.status === "rejected") counts.rejected++;
      }
      return results;
    },
  };
  return { index, counts };
}
