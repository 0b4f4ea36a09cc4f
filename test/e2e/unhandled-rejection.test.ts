import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, startProgram, tenantTokens, waitFor, type Program } from "../helpers/program";

/**
 * A promise left unhandled somewhere in the program (a library's background work: seen once in CI as the
 * program gone while Kafka brokers came back) must not end the process that holds the collectors. The
 * rejection is made real inside the program by a preload that rejects a promise nobody handles on SIGUSR2.
 */
const PRELOAD = `data:text/javascript,process.on("SIGUSR2", () => { Promise.reject(new Error("left unhandled for the test")); });`;

describe("an unhandled promise rejection inside the program", () => {
  let program: Program;
  beforeAll(async () => {
    program = await startProgram({ nodeArgs: ["--import", PRELOAD] });
  });
  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(program.dataDir);
  });

  it("is logged as a bug, and the program goes on taking and searching events", async () => {
    program.child.kill("SIGUSR2");
    await waitFor("the rejection logged", async () => program.output().includes("left unhandled for the test"), 30_000);
    expect(program.output()).toMatch(/unhandled promise rejection \(a bug: please report it\); the program goes on/);
    expect(program.child.exitCode).toBeNull();
    const tokens = await tenantTokens(program.dataDir);
    const res = await fetch(program.url(`/bulk/${tokens.ingestToken}/tag/after`), { method: "POST", body: "still here after the rejection" });
    expect(res.status).toBe(200);
    await waitFor("the event searchable", async () => {
      const r = await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent('"still here after the rejection"')}&from=-1h`), { headers: { Authorization: `bearer ${tokens.apiToken}` } });
      return ((await r.json()) as { count: number }).count === 1;
    }, 60_000);
    expect(program.child.exitCode).toBeNull();
  });
});
