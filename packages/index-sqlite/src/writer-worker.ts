/**
 * The index writer's thread: SQLite writes are synchronous, so they run here, off the event loop that
 * serves the collectors and the search API. Messages: {type:"apply", id, tenant, prepared} → {id, results,
 * schemes?: [`tenant/slice`, scheme] of those of its slices prepared in another field-token scheme than theirs};
 * {type:"prepare", id, tenant, at, length}; {type:"closeSlice", id, tenant, sliceName}; {type:"close"}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { IndexWriter, SliceSchemes, type PreparedWrite } from "./writer";
import type { SliceLength } from "./slices";

// At the process's priority, as the parse thread: lowering both measured no gain for ingest, and on a machine
// busy with other work it let that work take their turns (bench/RESULTS.md, issue 16). Queries go lowest.
const { root, openSlices, counters } = workerData as { root: string; openSlices?: number; counters?: SharedArrayBuffer };
// Slice lengths come with each prepared write (and each prepare message), so this writer needs no policy.
const writer = new IndexWriter(root, () => "day", { openSlices, counters: counters && new Int32Array(counters) });

parentPort!.on("message", (msg: { type: string; id?: number; tenant?: string; sliceName?: string; at?: number; length?: SliceLength; prepared?: PreparedWrite }) => {
  if (msg.type === "apply") {
    try {
      const results = writer.apply(msg.tenant!, msg.prepared!);
      // The slices whose events were prepared in another field-token scheme than their own, with their own:
      // the next events for them are prepared in it.
      const schemeOf = writer.schemeOf(msg.tenant!);
      const schemes = msg.prepared!.slices.filter((s) => schemeOf(s.name) !== s.scheme).map((s) => [SliceSchemes.key(msg.tenant!, s.name), schemeOf(s.name)]);
      parentPort!.postMessage({ id: msg.id, results, ...(schemes.length > 0 ? { schemes } : {}) });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  } else if (msg.type === "prepare") {
    try {
      writer.prepare(msg.tenant!, msg.at!, msg.length!);
      parentPort!.postMessage({ id: msg.id, results: [] });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  } else if (msg.type === "closeSlice") {
    writer.closeSlice(msg.tenant!, msg.sliceName!);
    parentPort!.postMessage({ id: msg.id, results: [] });
  } else if (msg.type === "close") {
    writer.close();
    parentPort!.postMessage({ id: msg.id, results: [] });
  }
});
