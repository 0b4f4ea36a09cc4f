/**
 * Per-tenant usage through the real program over real HTTP: events sent to the collector (HTTP /bulk and
 * syslog over TCP) for two tenants, one line of them too large (a dead letter), counted per tenant and
 * UTC day in GET /apiv2/usage under each tenant's own API token, and exposed on /metrics with the tenant
 * as a label; the counts survive a restart (usage.db in the data dir).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, removeDir, run, startProgram, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

interface UsageAnswer {
  tenant: string;
  plan: unknown;
  days: { day: string; events: number; bytes: number; indexed: number; indexedBytes: number; deadLettered: number; deadLetteredBytes: number }[];
  today: { day: string; percentOfPlan: number | null; bytesPercent: number | null; eventsPerSecondPercent: number | null };
}

describe("GET /apiv2/usage and the per-tenant metrics, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let acme: TenantTokens;
  const usage = async (token: string, query = "") => {
    const res = await fetch(program.url(`/apiv2/usage${query}`), { headers: { Authorization: `bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as UsageAnswer & { message?: string } };
  };
  const today = async (token: string) => (await usage(token)).body.days.at(-1)!;

  beforeAll(async () => {
    program = await startProgram({ args: ["--max-event-bytes", "2000"] });
    def = await tenantTokens(program.dataDir);
    acme = JSON.parse(await cli(["tenants", "add", "acme", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    // The server picks up the new tenant within its poll interval.
    await waitFor("acme known", async () => (await fetch(program.url(`/inputs/${acme.ingestToken}`), { method: "POST", body: "hello acme" })).status === 200);
  });

  afterAll(async () => {
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("counts what each tenant sent, what was indexed and what was dead-lettered, per UTC day", async () => {
    const marker = randomUUID();
    const lines = Array.from({ length: 40 }, (_, i) => `${marker} line ${i}`);
    const big = "x".repeat(2500);
    const res = await fetch(program.url(`/bulk/${def.ingestToken}`), { method: "POST", body: `${lines.join("\n")}\n${big}\n` });
    expect(res.status).toBe(200);
    const syslogText = `${marker} over syslog`;
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--octet-count", "--rfc5424", "--sd-id", `${def.ingestToken}@41058`, "--sd-param", 'tag="x"', syslogText]);
    const sentBytes = lines.reduce((s, l) => s + Buffer.byteLength(l), 0);

    const day = await waitFor("default's usage", async () => {
      const d = await today(def.apiToken);
      return d.indexed >= 41 && d.deadLettered >= 1 ? d : undefined;
    }, 60_000);
    expect(day.day).toBe(new Date().toISOString().slice(0, 10));
    // 40 bulk lines and 1 syslog message accepted (the syslog frame is counted whole, header included).
    expect(day.events).toBe(41);
    expect(day.bytes).toBeGreaterThan(sentBytes + syslogText.length);
    expect(day.indexed).toBe(41);
    expect(day.indexedBytes).toBeGreaterThan(day.bytes);
    expect(day.deadLettered).toBe(1);
    expect(day.deadLetteredBytes).toBe(2500);
    // acme's one event is acme's alone.
    const acmeDay = await waitFor("acme's usage", async () => {
      const d = await today(acme.apiToken);
      return d.indexed >= 1 ? d : undefined;
    }, 60_000);
    expect(acmeDay).toMatchObject({ events: 1, bytes: "hello acme".length, indexed: 1, deadLettered: 0 });

    const answer = await usage(def.apiToken, "?days=7");
    expect(answer.status).toBe(200);
    expect(answer.body.days).toHaveLength(7);
    expect(answer.body.tenant).toBe("default");
    expect(answer.body.plan).toBeNull();
    expect(answer.body.today.percentOfPlan).toBeNull();
  });

  it("reports a plan set with `tenants set` and today's use of it", async () => {
    // 1,000 bytes and 1,000 events/s a day: acme's 10 bytes today are 1 % of the daily volume.
    await cli(["tenants", "set", "acme", "--data-dir", program.dataDir, "--plan-gb-per-day", "0.000001", "--plan-events-per-second", "1000"]);
    const answer = await waitFor("acme's plan applied", async () => {
      const a = await usage(acme.apiToken, "?days=1");
      return a.body.plan !== null ? a : undefined;
    }, 60_000);
    expect(answer.status).toBe(200);
    expect(answer.body.plan).toEqual({ bytesPerDay: 1000, eventsPerSecond: 1000 });
    const today = answer.body.days[0]!;
    expect(answer.body.today.bytesPercent).toBeCloseTo((today.bytes / 1000) * 100, 6);
    expect(answer.body.today.percentOfPlan).toBeGreaterThanOrEqual(1);
    // The default tenant still has none.
    expect((await usage(def.apiToken)).body.plan).toBeNull();
  });

  it("answers 400 to bad parameters and 401 without a valid token", async () => {
    for (const q of ["?days=0", "?days=31", "?days=x"]) {
      const answer = await usage(def.apiToken, q);
      expect(answer.status, q).toBe(400);
      expect(answer.body.message).toMatch(/days must be an integer from 1 to 30/);
    }
    expect((await fetch(program.url("/apiv2/usage"))).status).toBe(401);
    expect((await usage("not-a-token")).status).toBe(401);
  });

  it("exposes the per-tenant series on /metrics with a tenant label", async () => {
    const text = await (await fetch(program.url("/metrics"))).text();
    const value = (name: string, tenant: string) => Number(new RegExp(`^${name}\\{tenant="${tenant}"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("unmeltable_tenant_ingested_events_total", "default")).toBe(41);
    expect(value("unmeltable_tenant_ingested_events_total", "acme")).toBe(1);
    expect(value("unmeltable_tenant_indexed_events_total", "default")).toBe(41);
    expect(value("unmeltable_tenant_dead_letters_total", "default")).toBe(1);
    expect(value("unmeltable_tenant_searchable_lag_seconds_count", "default")).toBe(41);
    expect(text).toMatch(/^unmeltable_tenant_searchable_lag_seconds_bucket\{tenant="default",le="\+Inf"\} 41$/m);
  });

  it("keeps the day's counts across a restart (usage.db in the data dir)", async () => {
    const before = await today(def.apiToken);
    await program.stop();
    program = await startProgram({ dataDir: program.dataDir, args: ["--max-event-bytes", "2000"] });
    const after = await today(def.apiToken);
    expect(after).toEqual(before);
  });
});
