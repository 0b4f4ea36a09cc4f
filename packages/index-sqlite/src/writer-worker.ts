/**
 * The index writer's thread: SQLite writes are synchronous, so they run here, off the event loop that
 * serves the collectors and the search API. Messages: {type:"apply", id, tenant, prepared} → {id, results};
 * {type:"prepare", id, tenant, at, length}; {type:"closeSlice", id, tenant, sliceName}; {type:"close"}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "@unmeltable/core";
import { IndexWriter, type PreparedWrite } from "./writer";
import type { SliceLength } from "./slices";

// 5 nice levels down: behind the threads that accept syslog and HTTP (a datagram not read in time is lost, an indexed
// event only comes later), ahead of the parsing (10 down) that feeds it and of the queries (lowest).
lowerThreadPriority(5);

const { root, openSlices, counters } = workerData as { root: string; openSlices?: number; counters?: SharedArrayBuffer };
// Slice lengths come with each prepared write (and each prepare message), so this writer needs no policy.
const writer = new IndexWriter(root, () => "day", { openSlices, counters: counters && new Int32Array(counters) });

parentPort!.on("message", (msg: { type: string; id?: number; tenant?: string; sliceName?: string; at?: number; length?: SliceLength; prepared?: PreparedWrite }) => {
  if (msg.type === "apply") {
    try {
      parentPort!.postMessage({ id: msg.id, results: writer.apply(msg.tenant!, msg.prepared!) });
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
