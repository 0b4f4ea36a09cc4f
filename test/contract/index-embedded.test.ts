import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { indexContract } from "./index.contract";

for (const [writer, slice] of [
  ["inline", "hour"],
  ["thread", "day"],
] as const) {
  indexContract(`embedded SQLite (${writer} writer, ${slice} slices)`, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-index-"));
    return {
      index: new EmbeddedIndex({ dir, writer, defaultSlice: slice }),
      refresh: async () => undefined,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}
