import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { queueContract } from "./queue.contract";

queueContract("embedded", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-queue-"));
  return {
    // Small segments, so the suite also crosses segment boundaries.
    open: () => EmbeddedQueue.open({ dir, segmentBytes: 4096 }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
