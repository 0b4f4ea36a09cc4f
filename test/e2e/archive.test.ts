import { rm } from "node:fs/promises";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cli, removeDir, startProgram, tenantTokens, waitFor } from "../helpers/program";

describe("archive and replay with the real program", () => {
  it("archives today's events, rebuilds a deleted index from the archive, and adds nothing when replayed again", async () => {
    let program = await startProgram();
    const { ingestToken, apiToken } = await tenantTokens(program.dataDir);
    const marker = randomUUID().slice(0, 8);
    const lines = Array.from({ length: 50 }, (_, i) => `${marker} archived line ${i}`);
    expect((await fetch(program.url(`/bulk/${ingestToken}/tag/arch`), { method: "POST", body: lines.join("\n") })).status).toBe(200);
    const count = async () => ((await (await fetch(program.url(`/apiv2/events/count?q=${marker}&from=-1h`), { headers: { Authorization: `bearer ${apiToken}` } })).json()) as { count: number }).count;
    await waitFor("the events indexed", async () => (await count()) === 50);

    // Beside the running server (the queue is read read-only).
    const day = new Date().toISOString().slice(0, 10);
    await cli(["archive", "--day", day, "--data-dir", program.dataDir]);
    const manifest = JSON.parse(await (await import("node:fs/promises")).readFile(path.join(program.dataDir, "archive", "raw", day, "manifest.json"), "utf8")) as { events: number };
    expect(manifest.events).toBeGreaterThanOrEqual(50);

    expect(await program.stop()).toBe(0);
    await rm(path.join(program.dataDir, "index"), { recursive: true, force: true });
    const restored = await cli(["replay", "--tenant", "default", "--from", "-1h", "--data-dir", program.dataDir]);
    expect(restored).toBe("");
    program = await startProgram({ dataDir: program.dataDir, syslogPort: program.syslogPort, httpPort: program.httpPort });
    try {
      expect(await count()).toBe(50);
      await cli(["replay", "--tenant", "default", "--from", "-1h", "--data-dir", program.dataDir]);
      expect(await count()).toBe(50);
    } finally {
      await program.stop();
      await removeDir(program.dataDir);
    }
  });
});
