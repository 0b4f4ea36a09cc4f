import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, removeDir, startProgram, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Two syslog connections sending as fast as they can must be served comparably (issue 16: two connections
 * of one run were once served 12.5x apart). Each sender is a separate process writing over its own TCP
 * connection with its own tenant's token, so the server's per-tenant count says how much of each
 * connection it took. The shares are compared by counts at one moment, never by time.
 */

/** A sender process: writes RFC 5424 lines carrying `token` to the port as fast as the server reads them. */
const SENDER = `
const net = require("node:net");
const [port, token] = process.argv.slice(1);
const line = (i) => "<13>1 2026-01-01T00:00:00Z host app - - [" + token + "@41058 tag=\\"fair\\"] " + "x".repeat(120) + " " + i + "\\n";
const chunk = Buffer.from(Array.from({ length: 1000 }, (_, i) => line(i)).join(""));
const sock = net.connect(Number(port), "127.0.0.1");
sock.on("error", () => process.exit(0));
const pump = () => { while (sock.write(chunk)); sock.once("drain", pump); };
sock.on("connect", pump);
`;

async function ingested(program: Program): Promise<Map<string, number>> {
  const text = await (await fetch(program.url("/metrics"))).text();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^unmeltable_tenant_ingested_events_total\{tenant="([^"]+)"\} (\d+)/gm)) counts.set(m[1]!, Number(m[2]));
  return counts;
}

describe("two syslog connections sending at full speed", () => {
  let program: Program;
  const senders: ChildProcess[] = [];
  const tenants: TenantTokens[] = [];

  beforeAll(async () => {
    program = await startProgram({ command: "collector" });
    for (const name of ["left", "right"]) {
      const t = JSON.parse(await cli(["tenants", "add", name, "--data-dir", program.dataDir, "--json"])) as TenantTokens;
      await waitFor(`tenant ${name} known to the server`, async () => (await fetch(program.url(`/inputs/${t.ingestToken}/tag/probe`), { method: "POST", body: "probe" })).status === 200, 60_000);
      tenants.push(t);
    }
  });
  afterAll(async () => {
    for (const s of senders) s.kill("SIGKILL");
    await program?.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("get comparable shares: neither connection below a third of the other", async () => {
    for (const t of tenants) {
      const child = spawn(process.execPath, ["-e", SENDER, String(program.syslogPort), t.ingestToken], { stdio: "ignore" });
      senders.push(child);
    }
    // Enough events that a connection starved after the first reads would show; a generous limit for a
    // busy machine (the wait is for the count, not a time).
    const total = 600_000;
    const counts = await waitFor(
      `${total} events from the two senders`,
      async () => {
        const c = await ingested(program);
        const left = (c.get("left") ?? 0) - 1;
        const right = (c.get("right") ?? 0) - 1;
        return left + right >= total ? { left, right } : undefined;
      },
      300_000,
    );
    for (const s of senders) s.kill("SIGKILL");
    const [low, high] = [Math.min(counts.left, counts.right), Math.max(counts.left, counts.right)];
    expect(low, `left ${counts.left}, right ${counts.right}`).toBeGreaterThanOrEqual(high / 3);
  }, 420_000);
});
