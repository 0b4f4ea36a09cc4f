import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRawBatch, newEventId, RAW_TOPIC, type ApiEvent } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { CLI, cli, readTopic, removeDir, ROOT, run, startProgram, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

describe("search what was sent, through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let other: TenantTokens;
  const marker = randomUUID().slice(0, 8);

  const api = async (p: string, token = def.apiToken): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(program.url(p), { headers: { Authorization: `bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const count = async (q: string, token = def.apiToken) => (await api(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h`, token)).body.count as number;

  beforeAll(async () => {
    program = await startProgram();
    def = await tenantTokens(program.dataDir);
    other = JSON.parse(await cli(["tenants", "add", "other", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    await new Promise((r) => setTimeout(r, 1000));

    const sd = `${def.ingestToken}@41058`;
    const port = String(program.syslogPort);
    await run("logger", ["-n", "127.0.0.1", "-P", port, "-d", "--rfc5424", "--sd-id", sd, "--sd-param", 'tag="udp"', "-t", "billing", `udp ${marker} payment accepted`]);
    await run("logger", ["-n", "127.0.0.1", "-P", port, "-T", "--octet-count", "--rfc5424", "--sd-id", sd, "--sd-param", 'tag="tcp"', "-t", "billing", "-p", "local0.err", `tcp ${marker} payment failed`]);
    const now = new Date().toISOString();
    const bulk = [
      JSON.stringify({ timestamp: now, level: "error", message: `json ${marker} db timeout`, status: 503, req: { path: "/api/orders" } }),
      JSON.stringify({ timestamp: now, level: "info", message: `json ${marker} ok`, status: 200, req: { path: "/api/users" } }),
      JSON.stringify({ timestamp: now, level: "info", message: `json ${marker} ok again`, status: 201, req: { path: "/api/users" } }),
      `10.0.0.7 - - [${apacheTime(new Date())}] "GET /checkout?m=${marker} HTTP/1.1" 502 1234 "-" "curl/8.0"`,
    ].join("\n");
    const res = await fetch(program.url(`/bulk/${def.ingestToken}/tag/web`), { method: "POST", body: bulk });
    expect(res.status).toBe(200);
    const res2 = await fetch(program.url(`/inputs/${other.ingestToken}/tag/secret`), { method: "POST", body: `other tenant ${marker}` });
    expect(res2.status).toBe(200);
  });

  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(program.dataDir);
  });

  it("finds every acknowledged event, parsed into Loggly's fields", async () => {
    await waitFor("all 6 events searchable", async () => (await count(marker)) === 6);
    const { body } = await api(`/apiv2/events/iterate?q=${marker}&from=-1h&size=50`);
    const events = body.events as ApiEvent[];
    expect(events).toHaveLength(6);
    const tcp = events.find((e) => e.raw.includes(`tcp ${marker}`))!;
    expect(tcp.event.syslog).toMatchObject({ appName: "billing", severity: "Error", facility: "local0" });
    expect(tcp.tags).toEqual(["tcp"]);
    expect(tcp.logmsg).toBe(`tcp ${marker} payment failed`);
    const json = events.find((e) => e.raw.includes("db timeout"))!;
    expect(json.logtypes).toContain("json");
    expect(json.event.json).toMatchObject({ level: "error", status: 503, req: { path: "/api/orders" } });
    expect(json.event.http).toMatchObject({ clientHost: "127.0.0.1" });
    const access = events.find((e) => e.raw.includes("/checkout"))!;
    expect(access.logtypes).toContain("apache");
    expect(access.event.apache).toMatchObject({ status: 502, method: "GET" });
    // Newest first.
    const times = events.map((e) => e.timestamp);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("answers field, range and boolean queries", async () => {
    expect(await count(`${marker} AND json.level:error`)).toBe(1);
    expect(await count(`json.status:>=500 AND ${marker}`)).toBe(1);
    expect(await count(`json.status:[200 TO 299] AND ${marker}`)).toBe(2);
    expect(await count(`json.req.path:"/api/users" AND ${marker}`)).toBe(2);
    expect(await count(`syslog.appName:billing AND ${marker}`)).toBe(2);
    expect(await count(`tag:web AND NOT logtype:apache AND ${marker}`)).toBe(3);
    expect(await count(`(apache.status:502 OR syslog.severity:Error) AND ${marker}`)).toBe(2);
    expect(await count(`"payment failed" AND ${marker}`)).toBe(1);
  });

  it("runs Loggly's two-step search: /search gives an rsid, /events pages through it", async () => {
    const { body } = await api(`/apiv2/search?q=${marker}&from=-1h&until=now&size=4`);
    const rsid = (body.rsid as { id: string }).id;
    expect(rsid).toBeTruthy();
    const page0 = (await api(`/apiv2/events?rsid=${rsid}`)).body;
    const page1 = (await api(`/apiv2/events?rsid=${rsid}&page=1`)).body;
    expect(page0.total_events).toBe(6);
    expect((page0.events as ApiEvent[]).length).toBe(4);
    expect((page1.events as ApiEvent[]).length).toBe(2);
    const ids = [...(page0.events as ApiEvent[]), ...(page1.events as ApiEvent[])].map((e) => e.id);
    expect(new Set(ids).size).toBe(6);
  });

  it("pages with the iterator's next URL", async () => {
    const seen: string[] = [];
    let url: string | undefined = `/apiv2/events/iterate?q=${marker}&from=-1h&size=4`;
    while (url) {
      const body = (await api(url)).body as { events: ApiEvent[]; next?: string };
      seen.push(...body.events.map((e) => e.id));
      url = body.next ? new URL(body.next).pathname + new URL(body.next).search : undefined;
    }
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
  });

  it("counts facet values and histogram buckets that add up to the search", async () => {
    const facet = (await api(`/apiv2/fields/json.level/?q=${marker}&from=-1h`)).body;
    expect(facet["json.level"]).toEqual([
      { term: "info", count: 2 },
      { term: "error", count: 1 },
    ]);
    const hist = (await api(`/apiv2/events/histogram?q=${marker}&from=-1h&interval=1m`)).body as { buckets: { time: number; count: number }[]; interval: number };
    expect(hist.interval).toBe(60_000);
    expect(hist.buckets.reduce((n, b) => n + b.count, 0)).toBe(6);
    const fields = (await api(`/apiv2/fields/?q=*&from=-1h`)).body.fields as string[];
    expect(fields).toEqual(expect.arrayContaining(["json.level", "syslog.appName", "apache.status", "tag"]));
  });

  it("keeps tenants apart and refuses bad credentials and bad queries clearly", async () => {
    expect(await count(marker, other.apiToken)).toBe(1);
    expect((await api(`/apiv2/events/iterate?q=${marker}&from=-1h`, other.apiToken)).body.events).toHaveLength(1);
    expect(await count(`tag:secret`, other.apiToken)).toBe(1);
    expect(await count(`tag:secret`, def.apiToken)).toBe(0);
    expect((await api(`/apiv2/events/count?q=*`, "wrong-token")).status).toBe(401);
    const bad = await api(`/apiv2/events/count?q=${encodeURIComponent("json.level:(error")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/query syntax error/);
    expect(typeof bad.body.position).toBe("number");
  });

  it("prints results with `unmeltable search` and follows new events with `unmeltable tail`", async () => {
    const out = await cli(["search", `${marker} AND json.level:error`, "--url", program.url(""), "--data-dir", program.dataDir, "--from", "-1h", "--json"]);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as ApiEvent);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.event.json!.level).toBe("error");

    const tail = spawn(process.execPath, [CLI, "tail", `tailme AND ${marker}`, "--url", program.url(""), "--data-dir", program.dataDir, "--json"], { cwd: ROOT });
    let tailed = "";
    let status = "";
    tail.stdout.on("data", (c: Buffer) => (tailed += c.toString()));
    tail.stderr.on("data", (c: Buffer) => (status += c.toString()));
    try {
      // Only events indexed once the stream is open are tailed: wait for it (the server counts open streams).
      await waitFor("the tail stream to open", async () => /^unmeltable_tail_streams 1$/m.test(await (await fetch(program.url("/metrics"))).text()));
      await fetch(program.url(`/inputs/${def.ingestToken}`), { method: "POST", body: `tailme ${marker} first` });
      await fetch(program.url(`/inputs/${def.ingestToken}`), { method: "POST", body: `not for the tail ${marker}` });
      await waitFor("the tailed event", async () => tailed.includes("tailme"));
      await new Promise((r) => setTimeout(r, 500));
      const got = tailed.trim().split("\n").map((l) => JSON.parse(l) as ApiEvent);
      expect(got.map((e) => e.logmsg)).toEqual([`tailme ${marker} first`]);
    } finally {
      tail.kill();
    }
  });

  it("loses and duplicates nothing across a restart, and moves past a poison record", async () => {
    await waitFor("the 8 events so far", async () => (await count(marker)) === 8);
    expect(await program.stop()).toBe(0);

    // Put a poison record (not a raw batch) into the raw topic, followed by a good one on the same partition.
    const queue = await EmbeddedQueue.open({ dir: path.join(program.dataDir, "queue") });
    const good = { id: newEventId(), tenant: "default", receivedAt: Date.now(), transport: "http" as const, remote: "10.1.1.1", collector: "test", tags: [], raw: `after poison ${marker}` };
    await queue.producer().send(RAW_TOPIC, [
      { key: "default", partition: 0, value: Buffer.from("this is not a raw batch") },
      { key: "default", partition: 0, value: encodeRawBatch("default", "test", [good]) },
    ]);
    await queue.close();

    program = await startProgram({ dataDir: program.dataDir, syslogPort: program.syslogPort, httpPort: program.httpPort });
    await waitFor("the event after the poison record", async () => (await count(`"after poison" AND ${marker}`)) === 1);
    expect(await count(marker)).toBe(9);
    const letters = await readTopic<{ reason: string; stage: string; source: string }>(program.dataDir, "deadletter");
    expect(letters.filter((l) => l.reason === "unparseable_record" && l.stage === "process")).toHaveLength(1);
  });
});

function apacheTime(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
