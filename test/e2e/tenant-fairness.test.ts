import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, removeDir, startProgram, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Issue 16 §3, through the real program without any plan: one tenant's backlog must not hold up
 * another tenant's events. `burst` and `modest` hash to the same raw and processed partition (of 4),
 * the worst case: the modest tenant's events are appended behind the whole backlog in the same log.
 *
 * The burst tenant's 150,000 events are all acknowledged (durable in the queue) before the modest tenant
 * sends its 20. Taken in order, the modest tenant's events would be searchable only after every event of
 * the backlog; fairly scheduled, they are searchable while the backlog is still being indexed. The test
 * checks that order (the burst tenant's count when the modest tenant's last event became searchable), and
 * that every event of both is searchable in the end, exactly once — never a time.
 *
 * Sizes: the index takes some 15,000-25,000 events/s on two idle cores and far fewer on a busy machine,
 * while HTTP bulk ingest takes several times that, so the backlog outlasts the 20 events' trip.
 */
describe("fairness between tenants, through the real program", () => {
  let program: Program;
  let modest: TenantTokens;
  let burst: TenantTokens;
  const BURST_EVENTS = 150_000;
  const MODEST_EVENTS = 20;

  const api = async (p: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(program.url(p), { headers: { Authorization: `bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const count = async (token: string, q = "*") => (await api(`/apiv2/events/count?from=-1h&until=now&q=${encodeURIComponent(q)}`, token)).body.count as number;

  beforeAll(async () => {
    program = await startProgram({ args: ["--raw-partitions", "4"] });
    burst = JSON.parse(await cli(["tenants", "add", "burst", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    modest = JSON.parse(await cli(["tenants", "add", "modest", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    await waitFor("the new tenants known to the server", async () => (await api("/apiv2/events/count", modest.apiToken)).status === 200 && (await api("/apiv2/events/count", burst.apiToken)).status === 200, 60_000);
  }, 120_000);

  afterAll(async () => {
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("indexes the other tenant's events before the bursting tenant's backlog, and every event of both", async () => {
    // The backlog: as fast as the bulk endpoint takes it, four requests at a time.
    let next = 0;
    const sender = async () => {
      while (next < BURST_EVENTS) {
        const from = next;
        next += 1000;
        const lines = Array.from({ length: 1000 }, (_, k) => JSON.stringify({ seq: from + k, level: k % 7 === 0 ? "error" : "info", msg: `burst event ${from + k} of a tenant sending far more than the others` }));
        const res = await fetch(program.url(`/bulk/${burst.ingestToken}/tag/burst`), { method: "POST", body: lines.join("\n") });
        expect(res.status).toBe(200);
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);

    // Every burst event is durable in the queue now, ahead of what the modest tenant sends.
    for (let i = 0; i < MODEST_EVENTS; i++) {
      const res = await fetch(program.url(`/inputs/${modest.ingestToken}/tag/modest`), { method: "POST", body: `modest-seq-${i} steady traffic` });
      expect(res.status).toBe(200);
    }
    const burstWhenModestDone = await waitFor(
      `the modest tenant's ${MODEST_EVENTS} events searchable`,
      async () => ((await count(modest.apiToken)) === MODEST_EVENTS ? { burst: await count(burst.apiToken) } : undefined),
      180_000,
    );
    process.stdout.write(`burst tenant's events searchable when the modest tenant's last one was: ${burstWhenModestDone.burst} of ${BURST_EVENTS}\n`);
    expect(burstWhenModestDone.burst).toBeLessThan(BURST_EVENTS);

    // The backlog went the lower-priority way, and all of it is searchable in the end, each event once.
    const metrics = await (await fetch(program.url("/metrics"))).text();
    expect(metrics).toMatch(/unmeltable_stage_diverted_records_total\{stage="(process|index\.default)",tenant="burst"\} [1-9]/);
    expect(metrics).not.toMatch(/unmeltable_stage_diverted_records_total\{[^}]*tenant="modest"/);
    await waitFor(`all ${BURST_EVENTS} events of the burst searchable`, async () => (await count(burst.apiToken)) === BURST_EVENTS, 300_000);
    expect(await count(burst.apiToken, "json.level:error")).toBe(Array.from({ length: BURST_EVENTS }, (_, n) => n % 1000).filter((k) => k % 7 === 0).length);
    expect(await count(modest.apiToken)).toBe(MODEST_EVENTS);
    expect(program.output()).toMatch(/tenant burst sends more than its share/);
  }, 600_000);
});
