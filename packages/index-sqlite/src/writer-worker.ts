/**
 * The index writer's thread: SQLite writes are synchronous, so they run here, off the event loop that
 * serves the collectors and the search API. Messages: {type:"apply", id, tenant, prepared} → {id, results,
 * legacy?: the `tenant/slice` of those of its slices made before the keyed field tokens};
 * {type:"prepare", id, tenant, at, length}; {type:"closeSlice", id, tenant, sliceName}; {type:"close"}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { IndexWriter, type PreparedWrite } from "./writer";
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
      // Slices made before the keyed field tokens, so that the next events for them are prepared in their scheme.
      const schemeOf = writer.schemeOf(msg.tenant!);
      const legacy = msg.prepared!.slices.filter((s) => schemeOf(s.name) === "exists").map((s) => `${msg.tenant}/${s.name}`);
      parentPort!.postMessage({ id: msg.id, results, ...(legacy.length > 0 ? { legacy } : {}) });
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
