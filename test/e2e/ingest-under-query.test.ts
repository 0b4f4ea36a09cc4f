import dgram from "node:dgram";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGet, cli, endProgram, startProgram, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Queries never starve ingest: while one tenant runs heavy searches, counts, histograms and facets, every
 * event another tenant sends over UDP (no back-pressure: a stalled event loop loses datagrams once the
 * socket buffer is full) and TCP is stored and searchable. Before reads left the ingest thread, each heavy
 * query stalled the loop for seconds and thousands of datagrams were lost.
 */
describe("ingest while another tenant runs heavy queries, through the real program", () => {
  let program: Program;
  let sender: TenantTokens;
  let heavy: TenantTokens;
  const HEAVY_EVENTS = 30_000;

  const api = (p: string, token: string) => apiGet(program, p, token);
  const count = async (token: string) => (await api("/apiv2/events/count?from=-1h&until=now", token)).body.count as number;

  beforeAll(async () => {
    program = await startProgram();
    sender = await tenantTokens(program.dataDir);
    heavy = JSON.parse(await cli(["tenants", "add", "heavy", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    await waitFor("the new tenant known to the server", async () => (await api("/apiv2/events/count", heavy.apiToken)).status === 200);
    // The heavy tenant's events, through the real bulk endpoint.
    const levels = ["ERROR", "error", "Warn", "info", "debug"];
    for (let i = 0; i < HEAVY_EVENTS; i += 1000) {
      const lines = Array.from({ length: 1000 }, (_, k) => JSON.stringify({ level: levels[(i + k) % 5], path: `/api/v1/orders/${(i + k) % 97}`, ms: (i + k) % 1000, msg: `request ${i + k} served for customer ${(i + k) % 13}` }));
      const res = await fetch(program.url(`/bulk/${heavy.ingestToken}/tag/load`), { method: "POST", body: lines.join("\n") });
      expect(res.status).toBe(200);
    }
    await waitFor(`${HEAVY_EVENTS} events of the heavy tenant searchable`, async () => (await count(heavy.apiToken)) === HEAVY_EVENTS, 120_000);
  }, 240_000);

  afterAll(() => endProgram(program));

  it("stores and finds every event the other tenant sent during the queries", async () => {
    // Within the parser's limits, but every event is checked against every clause: seconds of work.
    const globs = Array.from({ length: 300 }, (_, i) => `*q${i}*z*`).join(" OR ");
    const queries = [
      `/apiv2/events/count?from=-1h&q=${encodeURIComponent(globs)}`,
      `/apiv2/events/histogram?from=-1h&interval=1m&q=${encodeURIComponent("*ord*9*")}`,
      `/apiv2/fields/json.path/?from=-1h&facet_size=50&q=${encodeURIComponent("json.ms:>=0")}`,
      `/apiv2/events/iterate?from=-1h&size=1000&q=${encodeURIComponent("*cust*1*")}`,
      `/apiv2/events/count?from=-1h&q=${encodeURIComponent("json.level:error OR json.ms:[10 TO 900]")}`,
    ];
    let sending = true;
    const answered: number[] = [];
    const loop = async (k: number) => {
      for (let i = k; sending; i++) answered.push((await api(queries[i % queries.length]!, heavy.apiToken)).status);
    };
    const loops = [loop(0), loop(2)];

    const port = program.syslogPort;
    const line = (transport: string, i: number) => `<14>1 ${new Date().toISOString()} sender-host app - - [${sender.ingestToken}@41058 tag="${transport}"] ${transport} event ${i}`;
    // UDP at a fixed rate: 2,000 events/s for 8 s.
    const udp = dgram.createSocket("udp4");
    const UDP_EVENTS = 16_000;
    const started = Date.now();
    let sentUdp = 0;
    while (sentUdp < UDP_EVENTS) {
      const due = Math.min(UDP_EVENTS, Math.floor(((Date.now() - started) / 1000) * 2000) + 10);
      for (; sentUdp < due; sentUdp++) udp.send(line("udp", sentUdp), port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 5));
    }
    // TCP alongside, at 500 events/s.
    const TCP_EVENTS = 4000;
    const tcp = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => tcp.once("connect", resolve).once("error", reject));
    for (let i = 0; i < TCP_EVENTS; i += 100) {
      tcp.write(Array.from({ length: 100 }, (_, k) => `${line("tcp", i + k)}\n`).join(""));
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise<void>((r) => tcp.end(r));
    await new Promise((r) => setTimeout(r, 200));
    udp.close();
    sending = false;
    await Promise.all(loops);

    // The queries ran and were answered (done, over budget, or refused while busy), never left hanging.
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((s) => s === 200 || s === 503 || s === 504)).toBe(true);
    await waitFor("every event of the sending tenant searchable", async () => (await count(sender.apiToken)) >= UDP_EVENTS + TCP_EVENTS, 60_000).catch(() => undefined);
    expect(await count(sender.apiToken)).toBe(UDP_EVENTS + TCP_EVENTS);
    const udpFound = (await api(`/apiv2/events/count?from=-1h&q=${encodeURIComponent("tag:udp")}`, sender.apiToken)).body.count;
    expect(udpFound).toBe(UDP_EVENTS);
    // And the heavy tenant's data is intact and its simple queries still answered.
    expect(await count(heavy.apiToken)).toBe(HEAVY_EVENTS);
  }, 240_000);
});
