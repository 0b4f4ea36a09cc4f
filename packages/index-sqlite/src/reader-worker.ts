/**
 * A reader thread of the embedded index (reader-pool.ts): searches, counts, histograms, facets and field
 * lists run here on read-only connections (WAL lets them read beside the writer thread), never on the
 * thread that receives syslog and HTTP. The thread lowers its own scheduling priority, so that when the
 * cores are busy, ingest gets them first and queries take the rest.
 *
 * Messages: {id, op, deadline, ...arguments} → {id, result} | {id, error: {name, message, budget?}};
 * {id, op: "closeSlice", tenant, sliceName} → {id, result: null}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority, QueryBudgetError } from "@unmeltable/core";
import { IndexReader } from "./reader";
import type { ReaderMessage, ReaderReply } from "./reader-protocol";

// The lowest priority, for this thread only: queries take what CPU ingest leaves.
lowerThreadPriority(19);
const { root, pressure, openSlices, counters } = workerData as { root: string; pressure: SharedArrayBuffer; openSlices?: number; counters?: SharedArrayBuffer };
const reader = new IndexReader(root, { openSlices, counters: counters && new Int32Array(counters) });
const ingest = new Int32Array(pressure);

/**
 * Between chunks of work: while ingest is busy (see IngestPressure), pause, so that a query takes what
 * CPU ingest leaves rather than what the scheduler would give it — the priority alone does not stop a
 * scanning thread from slowing the ingest threads on a small machine (caches, memory bandwidth).
 */
function between(): void {
  const busy = Atomics.load(ingest, 0);
  if (busy >= 900) Atomics.wait(ingest, 1, 0, 50);
  else if (busy >= 700) Atomics.wait(ingest, 1, 0, 10);
}

function run(msg: ReaderMessage): unknown {
  const opts = { deadline: "deadline" in msg ? msg.deadline : undefined, between };
  switch (msg.op) {
    case "search": {
      // The documents as one JSON array text: one string crosses to the main thread, parsed there once.
      const page = reader.searchDocs(msg.q, msg.page, opts);
      return { json: `[${page.docs.join(",")}]`, cursor: page.cursor };
    }
    case "count":
      return reader.count(msg.q, opts);
    case "facet":
      return reader.facet(msg.q, msg.field, msg.size, opts);
    case "histogram":
      return reader.histogram(msg.q, msg.intervalMs, opts);
    case "fields":
      return reader.fields(msg.q, opts);
    case "stats":
      return reader.stats(msg.q, msg.field, opts);
    case "closeSlice":
      reader.closeSlice(msg.tenant, msg.sliceName);
      return null;
  }
}

parentPort!.on("message", (msg: ReaderMessage) => {
  let reply: ReaderReply;
  try {
    reply = { id: msg.id, result: run(msg) };
  } catch (err) {
    const e = err as Error;
    reply = { id: msg.id, error: { name: e.name, message: e.message, ...(err instanceof QueryBudgetError ? { budget: err.budget } : {}) } };
  }
  parentPort!.postMessage(reply);
});
