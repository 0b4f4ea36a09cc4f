import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { removeDir, startProgram, tenantTokens, waitFor } from "../helpers/program";

describe("--index-open-slices with the real program", () => {
  it("bounds the index's open slice files and shows them on /metrics", async () => {
    const program = await startProgram({ args: ["--index-open-slices", "7"] });
    try {
      const { ingestToken, apiToken } = await tenantTokens(program.dataDir);
      const marker = randomUUID().slice(0, 8);
      expect((await fetch(program.url(`/bulk/${ingestToken}`), { method: "POST", body: `${marker} one\n${marker} two` })).status).toBe(200);
      const count = async () => ((await (await fetch(program.url(`/apiv2/events/count?q=${marker}&from=-1h`), { headers: { Authorization: `bearer ${apiToken}` } })).json()) as { count: number }).count;
      await waitFor("the events indexed", async () => (await count()) === 2);
      const metrics = await (await fetch(program.url("/metrics"))).text();
      expect(metrics).toMatch(/^unmeltable_index_open_slices_limit 7$/m);
      const open = Number(/^unmeltable_index_open_slices (\d+)$/m.exec(metrics)?.[1]);
      // Today's slice, open in the writer and in the reader thread that counted.
      expect(open).toBeGreaterThanOrEqual(1);
      expect(open).toBeLessThanOrEqual(7 + 1);
      expect(metrics).toMatch(/^unmeltable_index_slice_evictions_total 0$/m);
    } finally {
      await program.stop();
      await removeDir(program.dataDir);
    }
  });
});
