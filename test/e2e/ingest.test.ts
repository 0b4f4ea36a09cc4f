import { randomUUID } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsArgs } from "../helpers/http";
import { cli, endProgram, freePort, startWithTokens, readTopic, removeDir, run, startProgram, tenantTokens, waitFor, type Program, type RawEvent, type TenantTokens } from "../helpers/program";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface DeadLetterLine {
  reason: string;
  stage: string;
  error: string;
  bytes?: string;
  tenant?: string;
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("ingest through real clients", () => {
  let program: Program;
  let tokens: TenantTokens;
  let httpsPort: number;

  beforeAll(async () => {
    const https = await httpsArgs();
    httpsPort = https.httpsPort;
    ({ program, tokens } = await startWithTokens({ tlsPort: await freePort(), args: https.args }));
  });
  afterAll(() => endProgram(program));

  it("puts events from logger (UDP, TCP octet-counted), loggen (TLS) and HTTP into the raw topic with tenant, tags and id", async () => {
    const run_ = randomUUID().slice(0, 8);
    const sd = `${tokens.ingestToken}@41058`;
    const port = String(program.syslogPort);
    await run("logger", ["-n", "127.0.0.1", "-P", port, "-d", "--rfc5424", "--sd-id", sd, "--sd-param", 'tag="udp"', "--sd-param", 'tag="logger"', `udp-${run_}`]);
    await run("logger", ["-n", "127.0.0.1", "-P", port, "-T", "--octet-count", "--rfc5424", "--sd-id", sd, "--sd-param", 'tag="tcp"', `tcp-${run_}`]);
    await run("loggen", ["--use-ssl", "--rate", "1000", "--syslog-proto", "--sdata", `[${sd} tag="tls"]`, "--number", "25", "--quiet", "127.0.0.1", String(program.tlsPort)]);
    const single = await post(program.url(`/inputs/${tokens.ingestToken}/tag/a,b/`), `inputs-${run_}\n    at com.example.Foo.bar(Foo.java:42)\n    at com.example.Main.main(Main.java:7)`, {
      "content-type": "text/plain",
      "X-LOGGLY-TAG": "c,a",
    });
    expect(single).toEqual({ status: 200, json: { response: "ok" } });
    const bulk = await post(program.url(`/bulk/${tokens.ingestToken}/tag/bulk`), `bulk1-${run_}\r\n{"message":"bulk2-${run_}","level":"info"}\n\nbulk3-${run_}\n`);
    expect(bulk).toEqual({ status: 200, json: { response: "ok" } });
    const overHttps = await run("curl", ["-sk", "-H", "X-LOGGLY-TAG: secure", "--data-binary", `https-${run_}`, `https://127.0.0.1:${httpsPort}/inputs/${tokens.ingestToken}`]);
    expect(JSON.parse(overHttps.stdout)).toEqual({ response: "ok" });

    const events = await waitFor("all events in the raw topic", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(run_) || e.tags.includes("tls"));
      return all.length >= 1 + 1 + 25 + 1 + 3 + 1 ? all : undefined;
    });
    const find = (marker: string) => events.filter((e) => e.raw.includes(marker));
    const [udp] = find(`udp-${run_}`);
    expect(udp).toMatchObject({ tenant: "default", transport: "udp", tags: ["udp", "logger"], remote: "127.0.0.1" });
    const [tcp] = find(`tcp-${run_}`);
    expect(tcp).toMatchObject({ tenant: "default", transport: "tcp", tags: ["tcp"] });
    expect(tcp!.raw).toMatch(/^<\d+>1 /);
    const tls = events.filter((e) => e.transport === "tls");
    expect(tls).toHaveLength(25);
    for (const e of tls) expect(e).toMatchObject({ tenant: "default", tags: ["tls"] });
    const [inputs] = find(`inputs-${run_}`);
    // A multi-line body sent to /inputs stays one event; URL and header tags are united.
    expect(inputs).toMatchObject({ tenant: "default", transport: "http", tags: ["a", "b", "c"], contentType: "text/plain" });
    expect(inputs!.raw.split("\n")).toHaveLength(3);
    expect(find(`bulk1-${run_}`)[0]).toMatchObject({ raw: `bulk1-${run_}`, tags: ["bulk"] });
    expect(find(`bulk2-${run_}`)[0]!.raw).toBe(`{"message":"bulk2-${run_}","level":"info"}`);
    expect(find(`bulk3-${run_}`)).toHaveLength(1);
    expect(find(`https-${run_}`)[0]).toMatchObject({ transport: "https", tags: ["secure"] });

    for (const e of events) {
      expect(e.id).toMatch(UUID_V7);
      expect(e.receivedAt).toBeGreaterThan(Date.now() - 60_000);
      expect(e.collector).toBeTruthy();
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it("honours a tenant added with the CLI while the server runs, within a second", async () => {
    const added = JSON.parse(await cli(["tenants", "add", "acme", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    expect(Object.keys(added).sort()).toEqual(["apiToken", "ingestToken", "name"]);
    await new Promise((r) => setTimeout(r, 1000));
    const marker = `acme-${randomUUID()}`;
    expect((await post(program.url(`/inputs/${added.ingestToken}`), marker)).status).toBe(200);
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--octet-count", "--rfc5424", "--sd-id", `${added.ingestToken}@41058`, "--sd-param", 'tag="x"', `${marker}-syslog`]);
    const got = await waitFor("acme events", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(marker));
      return all.length === 2 ? all : undefined;
    });
    expect(got.every((e) => e.tenant === "acme")).toBe(true);
    const list = await cli(["tenants", "list", "--data-dir", program.dataDir]);
    expect(list).toMatch(/acme/);
  });

  it("drains and exits 0 on SIGTERM", async () => {
    expect(await program.stop()).toBe(0);
    expect(program.output()).toMatch(/stopped cleanly/);
  });
});

describe("bad input gets a clear error and loses nothing else", () => {
  let program: Program;
  let tokens: TenantTokens;

  beforeAll(async () => {
    ({ program, tokens } = await startWithTokens({ args: ["--max-event-bytes", "2000"] }));
  });
  afterAll(() => endProgram(program));

  it("answers 401 (never 403) to an unknown token, and dead-letters syslog with an unknown or missing token", async () => {
    const res = await post(program.url("/inputs/00000000-0000-0000-0000-000000000000/"), "hello");
    expect(res.status).toBe(401);
    expect(res.json.message).toMatch(/unknown token/);
    const marker = randomUUID();
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--octet-count", "--rfc5424", "--sd-id", "not-a-tenant@41058", "--sd-param", 'tag="x"', `${marker}-unknown`]);
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--rfc5424", `${marker}-none`]);
    const letters = await waitFor("dead letters", async () => {
      const all = (await readTopic<DeadLetterLine>(program.dataDir, "deadletter")).filter((d) => d.bytes && Buffer.from(d.bytes, "base64").toString().includes(marker));
      return all.length === 2 ? all : undefined;
    });
    expect(letters.map((l) => l.reason).sort()).toEqual(["missing_token", "unknown_token"]);
    expect(letters.every((l) => l.stage === "collector")).toBe(true);
    const metrics = await (await fetch(program.url("/metrics"))).text();
    expect(metrics).toMatch(/unmeltable_dropped_events_total\{reason="unknown_token",stage="collector"\} 1/);
  });

  it("refuses an oversized event with a clear message and keeps the rest of a bulk request", async () => {
    const big = "x".repeat(2001);
    const single = await post(program.url(`/inputs/${tokens.ingestToken}`), big);
    expect(single.status).toBe(413);
    expect(single.json.message).toMatch(/exceeds the 2000-byte limit/);
    const marker = randomUUID();
    const bulk = await post(program.url(`/bulk/${tokens.ingestToken}`), `${marker}-a\n${big}\n${marker}-b\n`);
    expect(bulk.status).toBe(200);
    expect(bulk.json).toMatchObject({ response: "ok", rejected: [{ line: 2, reason: "event_too_large" }] });
    const kept = await waitFor("bulk neighbours", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.startsWith(marker));
      return all.length === 2 ? all : undefined;
    });
    expect(kept.map((e) => e.raw).sort()).toEqual([`${marker}-a`, `${marker}-b`]);
  });

  it("keeps invalid UTF-8 byte for byte and flags it", async () => {
    const bytes = Buffer.concat([Buffer.from("latin1 caf"), Buffer.from([0xe9]), Buffer.from(" "), Buffer.from(randomUUID())]);
    expect((await post(program.url(`/inputs/${tokens.ingestToken}`), bytes)).status).toBe(200);
    const [event] = await waitFor("the latin1 event", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.rawBytes !== undefined && Buffer.from(e.rawBytes, "base64").equals(bytes));
      return all.length === 1 ? all : undefined;
    });
    expect(event!.flags).toEqual(["invalid_utf8"]);
    expect(event!.raw).toContain("latin1 caf\uFFFD");
  });

  it("does not let a broken or oversized frame take down the frames after it on the same connection", async () => {
    const marker = randomUUID();
    const sd = `[${tokens.ingestToken}@41058 tag="frames"]`;
    const msg = (text: string) => `<13>1 2024-05-01T10:00:00Z host app - - ${sd} ${text}`;
    const counted = (text: string) => {
      const m = msg(text);
      return `${Buffer.byteLength(m)} ${m}`;
    };
    const oversized = `<13>1 2024-05-01T10:00:00Z host app - - ${sd} ${"y".repeat(5000)}`;
    const stream = [
      counted(`${marker}-1`),
      `${Buffer.byteLength(oversized)} ${oversized}`, // octet-counted, over the 2000-byte limit
      `${msg(`${marker}-2`)}\n`, // newline framing on the same connection
      `500 errors in the last minute ${sd.replace("[", "(")}\n`, // a number that is not an octet count
      `${"z".repeat(3000)}\n`, // an oversized line
      counted(`${marker}-3`),
    ].join("");
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(program.syslogPort, "127.0.0.1", () => {
        // Dribble the bytes in small pieces, so frames straddle reads.
        const buf = Buffer.from(stream);
        let at = 0;
        const step = () => {
          if (at >= buf.length) return sock.end(resolve);
          sock.write(buf.subarray(at, at + 97));
          at += 97;
          setImmediate(step);
        };
        step();
      });
      sock.on("error", reject);
    });
    const kept = await waitFor("the good frames", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(marker));
      return all.length === 3 ? all : undefined;
    });
    expect(kept.map((e) => e.raw.slice(-2)).sort()).toEqual(["-1", "-2", "-3"]);
    const letters = await waitFor("too-large letters", async () => {
      const all = (await readTopic<DeadLetterLine>(program.dataDir, "deadletter")).filter((d) => d.reason === "event_too_large");
      return all.length >= 2 ? all : undefined;
    });
    expect(letters.some((l) => /octet-counted frame of \d+ bytes exceeds/.test(l.error))).toBe(true);
    // The line that started with a number was not taken for an octet count: it arrived as a message of its own.
    await waitFor("the numbered line, refused on its own as missing_token", async () => {
      const all = await readTopic<DeadLetterLine>(program.dataDir, "deadletter");
      return all.some((d) => d.reason === "missing_token" && Buffer.from(d.bytes!, "base64").toString().startsWith("500 errors"));
    });
  });
});

describe("a crash loses nothing that was acknowledged", () => {
  it("finds every acknowledged bulk event exactly once after SIGKILL and restart", async () => {
    let program = await startProgram();
    const { ingestToken } = await tenantTokens(program.dataDir);
    const acked: string[] = [];
    let stop = false;
    let seq = 0;
    const sender = async () => {
      while (!stop) {
        const lines = Array.from({ length: 20 }, () => `crash-test ${seq++} ${randomUUID()}`);
        try {
          const res = await fetch(program.url(`/bulk/${ingestToken}/tag/crash`), { method: "POST", body: lines.join("\n") });
          if (res.status === 200) acked.push(...lines);
        } catch {
          // the server died under this request: not acknowledged
        }
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    await waitFor("some acknowledged events", async () => acked.length >= 2000);
    await program.kill();
    stop = true;
    await Promise.all(senders);

    program = await startProgram({ dataDir: program.dataDir, syslogPort: program.syslogPort, httpPort: program.httpPort });
    try {
      const stored = (await readTopic(program.dataDir)).filter((e) => e.raw.startsWith("crash-test "));
      const counts = new Map<string, number>();
      for (const e of stored) counts.set(e.raw, (counts.get(e.raw) ?? 0) + 1);
      const missing = acked.filter((l) => !counts.has(l));
      const duplicated = acked.filter((l) => (counts.get(l) ?? 0) > 1);
      expect(missing).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
      // The restarted server takes new events as usual.
      expect((await fetch(program.url(`/inputs/${ingestToken}`), { method: "POST", body: "after restart" })).status).toBe(200);
    } finally {
      await program.stop();
      await removeDir(program.dataDir);
    }
  });
});

export type { RawEvent };

describe("a collector with a deployment's tenants config", () => {
  it("accepts the tokens of the tenants file it is given (as the EC2 collectors read s3://…/tenants.json)", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-tenants-"));
    const file = path.join(dir, "tenants.json");
    const tenant = { name: "fromfile", ingestToken: randomUUID(), apiToken: randomUUID(), tier: "default" };
    await writeFile(file, JSON.stringify([tenant]));
    const program = await startProgram({ command: "collector", args: ["--tenants", file] });
    try {
      const marker = randomUUID();
      expect((await post(program.url(`/inputs/${tenant.ingestToken}`), marker)).status).toBe(200);
      const [event] = await waitFor("the event", async () => {
        const all = (await readTopic(program.dataDir)).filter((e) => e.raw === marker);
        return all.length === 1 ? all : undefined;
      });
      expect(event!.tenant).toBe("fromfile");
      expect((await post(program.url("/inputs/00000000-0000-0000-0000-000000000000"), "x")).status).toBe(401);
    } finally {
      await program.stop();
      await removeDir(program.dataDir);
      await removeDir(dir);
    }
  });
});
