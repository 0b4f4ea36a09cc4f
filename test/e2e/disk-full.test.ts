import { randomBytes, randomUUID } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataDirWithSmallDisk, fillUp } from "../helpers/full-disk";
import { endProgram, readTopic, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * The queue on a real filesystem that fills up (a small tmpfs under <data-dir>/queue): what the answers
 * say while nothing can be stored, and what ends up stored once space returns.
 */
describe("a full disk under the queue", () => {
  let program: Program;
  let tokens: TenantTokens;
  let dataDir: string;
  let unmount: () => Promise<void>;

  beforeAll(async () => {
    ({ dataDir, unmount } = await dataDirWithSmallDisk("queue", 16 * 1024 * 1024));
    ({ program, tokens } = await startWithTokens({ dataDir }));
  });
  afterAll(() => endProgram(program, { dataDir, unmount }));

  const bulk = (lines: string[]) => fetch(program.url(`/bulk/${tokens.ingestToken}/tag/disk/`), { method: "POST", body: lines.join("\n") });
  const health = async () => {
    const res = await fetch(program.url("/healthz"));
    return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
  };
  const syslogLine = (text: string, token = tokens.ingestToken) => `<14>1 2026-01-07T10:00:00Z host app - - [${token}@41058 tag="disk"] ${text}\n`;
  /** Writes lines over one TCP connection and closes it (without waiting for the server to read them). */
  const sendTcp = (payload: string | Buffer) =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(program.syslogPort, "127.0.0.1", () => socket.end(payload));
      socket.on("error", reject);
      socket.on("close", () => resolve());
    });
  const metric = async (name: string) => {
    const text = await (await fetch(program.url("/metrics"))).text();
    const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };

  it("answers 503 for what it could not store, never stores it later, keeps streamed events, and reports degraded until writes work again", async () => {
    const run = randomUUID().slice(0, 8);
    const before = Array.from({ length: 10 }, (_, i) => `before-${run}-${i}`);
    expect((await bulk(before)).status).toBe(200);

    const disk = await fillUp(path.join(dataDir, "queue"));
    // A client retrying the same batch while nothing can be stored: every answer is 503 + Retry-After,
    // and says why (the write failed, not a timeout).
    // (Each write is bigger than a page: a full tmpfs still fits a few bytes into a file's last page. The
    // padding is random: the queue stores large raw batches deflated, and a run of one letter would shrink
    // to almost nothing.)
    const retried = Array.from({ length: 50 }, (_, i) => `retried${run} n${i} ${noise(200)}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await bulk(retried);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(((await res.json()) as { message: string }).message).toMatch(/not stored.*(ENOSPC|no space)/i);
    }
    const degraded = await health();
    expect(degraded.status).toBe(503);
    expect(degraded.body.status).toBe("degraded");
    expect(degraded.body.reason).toMatch(/ENOSPC|no space/i);
    expect(await metric("unmeltable_queue_write_failing")).toBe(1);

    // Syslog read over TCP while writes fail is kept and retried (reading it acknowledged it to the sender).
    const streamed = Array.from({ length: 20 }, (_, i) => `${noise(500)} stream-${run}-${i}`);
    const tcpReceived = async () => (await metric('unmeltable_events_received_total{transport="tcp"}')) ?? 0;
    const tcpBefore = await tcpReceived();
    await sendTcp(streamed.map((t) => syslogLine(t)).join(""));
    await waitFor("the streamed events read", async () => (await tcpReceived()) >= tcpBefore + streamed.length);
    expect((await health()).body.status).toBe("degraded");
    expect((await readTopic(dataDir)).some((e) => e.raw.includes(`stream-${run}`))).toBe(false);

    await disk.free();
    // Writes work again: found by the retried stream batch or by the collector's own probe.
    await waitFor("healthz ok again", async () => (await health()).body.status === "ok", 30_000);
    expect(await metric("unmeltable_queue_write_failing")).toBe(0);
    expect((await bulk(retried)).status).toBe(200);

    const texts = async () => (await readTopic(dataDir)).map((e) => e.raw.trim());
    await waitFor("the streamed events stored", async () => {
      const t = new Set(await texts());
      return streamed.every((s) => [...t].some((x) => x.endsWith(s)));
    });
    const stored = await texts();
    const count = (text: string) => stored.filter((x) => x === text || x.endsWith(` ${text}`)).length;
    // Each event exactly once: none of the three 503 attempts left anything behind.
    for (const t of [...before, ...retried, ...streamed]) expect(count(t), t).toBe(1);

    // Searchable once each, too.
    const searchCount = async () =>
      ((await (await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(`retried${run}`)}&from=-1h`), { headers: { Authorization: `bearer ${tokens.apiToken}` } })).json()) as { count: number }).count;
    await waitFor("the retried batch searchable", async () => (await searchCount()) >= retried.length);
    expect(await searchCount()).toBe(retried.length);
  }, 120_000);

  it("brings the in-flight bytes gauge back to exactly 0 after successes, refusals, oversize events, closed connections and failed writes", async () => {
    const run = randomUUID().slice(0, 8);
    expect((await bulk([`ok-${run}`])).status).toBe(200);
    // A bulk request with one line over the event limit (stored: the others; refused: that line).
    expect((await bulk([`fine-${run}`, "x".repeat(1024 * 1024 + 10)])).status).toBe(200);
    expect((await fetch(program.url(`/inputs/not-a-token/`), { method: "POST", body: "x" })).status).toBe(401);
    expect((await fetch(program.url(`/inputs/${tokens.ingestToken}/`), { method: "POST", body: "not gzip", headers: { "content-encoding": "gzip" } })).status).toBe(400);
    // Syslog: a good line, an unknown token, an oversize message, and a connection closed mid-frame.
    await sendTcp(syslogLine(`tcp-${run}`) + syslogLine("unknown", "00000000-0000-0000-0000-000000000000") + syslogLine("y".repeat(1024 * 1024 + 10)) + "<14>1 2026-01-07T10:00:00Z host app - - - cut off in the mi");
    await sendTcp(Buffer.from(`300 <14>1 - - - - - - only part of an octet-counted frame`));
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((r) => udp.send(syslogLine(`udp-${run}`), program.syslogPort, "127.0.0.1", () => r()));
    udp.close();
    // Failed writes: a request answered 503 and a stream batch retried until space returns.
    const disk = await fillUp(path.join(dataDir, "queue"));
    expect((await bulk(Array.from({ length: 20 }, (_, i) => `failed-${run}-${i} ${noise(500)}`))).status).toBe(503);
    await sendTcp(Array.from({ length: 20 }, (_, i) => syslogLine(`during-${run}-${i} ${noise(500)}`)).join(""));
    await disk.free();
    await waitFor("healthz ok again", async () => (await health()).body.status === "ok", 30_000);
    expect((await bulk([`last-${run}`])).status).toBe(200);

    await waitFor("nothing in flight", async () => (await metric("unmeltable_collector_inflight_bytes")) === 0, 30_000).catch(() => undefined);
    expect(await metric("unmeltable_collector_inflight_bytes")).toBe(0);
  }, 120_000);
});

/** Text that does not compress: the queue deflates large raw batches. */
function noise(chars: number): string {
  return randomBytes(chars).toString("base64url").slice(0, chars);
}
