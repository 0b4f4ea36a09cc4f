/**
 * The index writer's thread: SQLite writes are synchronous, so they run here, off the event loop that
 * serves the collectors and the search API. Messages: {type:"apply", id, tenant, prepared} → {id, results};
 * {type:"write", id, tenant, docs (newline-joined)} → {id, results};
 * {type:"policy", slices}; {type:"close"}.
 */
import { parentPort, workerData } from "node:worker_threads";
import { IndexWriter, type PreparedWrite } from "./writer";
import type { SliceLength } from "./slices";

interface Init {
  root: string;
  slices: Record<string, SliceLength>;
  defaultSlice: SliceLength;
}

const init = workerData as Init;
let slices = init.slices;
const writer = new IndexWriter(init.root, (tenant) => slices[tenant] ?? init.defaultSlice);

parentPort!.on("message", (msg: { type: string; id?: number; tenant?: string; docs?: string; slices?: Record<string, SliceLength>; sliceName?: string; at?: number; length?: SliceLength; prepared?: PreparedWrite }) => {
  if (msg.type === "apply") {
    try {
      parentPort!.postMessage({ id: msg.id, results: writer.apply(msg.tenant!, msg.prepared!) });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  } else if (msg.type === "write") {
    try {
      // Documents arrive joined by newlines (JSON text never contains a raw one).
      const docs = msg.docs === "" ? [] : msg.docs!.split("\n");
      parentPort!.postMessage({ id: msg.id, results: writer.write(msg.tenant!, docs) });
    } catch (err) {
      parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
    }
  } else if (msg.type === "policy") {
    slices = msg.slices!;
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
