import { randomUUID } from "node:crypto";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsArgs } from "../helpers/http";
import { cli, freePort, removeDir, startProgram, waitFor, type Program, type TenantTokens } from "../helpers/program";
import { seededRandom } from "../helpers/seeded";

/**
 * The edge fuzz suite: a seeded stream of hostile and malformed input against every listener of the
 * real program (HTTP, HTTPS, syslog TCP, TLS and UDP, the API's parameters, live tail), while another
 * tenant sends its events as usual. Afterwards the program must be alive and healthy, every one of the
 * other tenant's events stored and searchable, and its memory under a stated bound the whole time.
 *
 * FUZZ_SEED reproduces a run; FUZZ_MS sets how long the attack lasts (default 20 s, bounded so the suite
 * stays short on two cores).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const ATTACK_MS = Number(process.env.FUZZ_MS ?? 20_000);
/** The server's resident memory may not pass this at any sample (it starts near 150 MiB). */
const RSS_BOUND_MB = 512;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The attack vocabulary. Each piece is small and names what it tries; `rnd` makes the choices. */
class Attacker {
  private readonly pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.rnd() * xs.length)]!;
  private readonly int = (lo: number, hi: number) => lo + Math.floor(this.rnd() * (hi - lo + 1));
  /** Sockets the attack holds open (slow readers, partial frames), closed at the end. */
  readonly held = new Set<net.Socket>();
  tried = 0;

  constructor(
    private readonly rnd: () => number,
    private readonly target: { httpPort: number; httpsPort: number; syslogPort: number; tlsPort: number; ingestToken: string; apiToken: string },
  ) {}

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.rnd() * 256);
    return b;
  }

  private token(): string {
    return this.pick([this.target.ingestToken, randomUUID(), "%", "%E0%A4%A", "..%2F..%2F", "\u00ff", "a".repeat(5000), ""]);
  }

  private path(): string {
    const t = this.token();
    return this.pick([
      `/inputs/${t}/`,
      `/inputs/${t}/tag/%ZZ,${"x".repeat(200)}/`,
      `/bulk/${t}/tag/a,b/`,
      `/bulk/%/`,
      `/inputs/%E0%A4%A/`,
      `/inputs/${this.target.ingestToken}.gif?a=%E0%A4%A&b=${"y".repeat(3000)}`,
      `/apiv2/fields/%/`,
      `/apiv2/fields/%E0%A4%A/?facet_size=99999999999`,
      `/apiv2/events/histogram?from=0&until=8640000000000000`,
      `/apiv2/events/histogram?from=-8640000000000000&until=8640000000000000&interval=1s`,
      `/apiv2/events/histogram?interval=${this.pick(["0s", "-1m", "1e308", "%", "1w".repeat(50)])}`,
      `/apiv2/events/iterate?q=${encodeURIComponent("(".repeat(this.int(100, 20_000)))}`,
      `/apiv2/events/iterate?q=${encodeURIComponent(Array.from({ length: 3000 }, (_, i) => `w${i}`).join(" OR "))}`,
      `/apiv2/events/iterate?size=${this.pick(["-1", "1e9", "NaN", "%", "99999999999999999999"])}`,
      `/apiv2/events/iterate?next=${this.pick(["%", "garbage", Buffer.from('{"q":"*","from":0,"until":1e300,"order":"desc","size":50,"cursor":"x"}').toString("base64url")])}`,
      `/apiv2/events?rsid=${Buffer.from('{"q":"*","from":0,"until":8640000000000000,"order":"asc","size":5000}').toString("base64url")}&page=${this.pick(["999999999", "-1", "%"])}`,
      `/apiv2/search?q=*&from=${this.pick(["-99999999w", "1e400", "%", "0", "now-"])}&until=${this.pick(["now", "8640000000000001", "x"])}`,
      `/apiv2/events/count?q=${encodeURIComponent("*a*b*c*d*e*f*g*")}&from=-30d`,
      `/apiv2/alerts/%/`,
      `/apiv2/alerts/${"z".repeat(10_000)}`,
      `/apiv2/savedsearches/%/`,
      `/apiv2/savedsearches/${"z".repeat(10_000)}`,
      `/ui/config/%`,
      `/assets/..%2f..%2f..%2fpackage.json`,
      `/%2e%2e/%2e%2e/etc/passwd`,
      `/%00`,
      `/${"p".repeat(this.int(1, 60_000))}`,
      `/healthz?${"%".repeat(100)}`,
      `*`,
      `http://evil.example/`,
    ]);
  }

  private body(): Buffer {
    const deep = this.int(1000, 30_000);
    return this.pick<() => Buffer>([
      () => Buffer.from("x"),
      () => Buffer.from(`${"[".repeat(deep)}1${"]".repeat(deep)}`),
      () => Buffer.from(`{"a":${'{"a":'.repeat(deep)}1${"}".repeat(deep)}}`),
      () => Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])))),
      () => this.bytes(this.int(1, 20_000)),
      () => Buffer.from(`line\0with\0nul\n${"\n".repeat(1000)}`),
      () => gzipSync(Buffer.alloc(64 * 1024 * 1024)), // 64 MB of zeros in ~64 KB
      () => Buffer.from("not gzip at all"),
    ])();
  }

  /** One raw HTTP/1.1 exchange with whatever request line, headers and body the dice say. */
  private async http(secure: boolean): Promise<void> {
    const method = this.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW", "G\0T", ""]);
    const body = this.rnd() < 0.6 ? this.body() : Buffer.alloc(0);
    const headers: string[] = [`Host: ${this.pick(["localhost", "", "a".repeat(9000), "x\u0001y"])}`];
    const cl = this.pick([String(body.length), String(body.length), "-1", "abc", `${body.length}, ${body.length + 5}`, "99999999999", ""]);
    if (cl !== "") headers.push(`Content-Length: ${cl}`);
    if (this.rnd() < 0.2) headers.push(`Transfer-Encoding: ${this.pick(["chunked", "gzip, chunked", "bogus"])}`);
    if (this.rnd() < 0.3) headers.push(`Content-Encoding: ${this.pick(["gzip", "deflate", "br", "x"])}`);
    if (this.rnd() < 0.5) headers.push(`Authorization: ${this.pick([`bearer ${this.target.apiToken}`, "bearer", "basic %%%", `Basic ${Buffer.from(":" + this.target.apiToken).toString("base64")}`, "x".repeat(20_000)])}`);
    if (this.rnd() < 0.2) headers.push(`X-LOGGLY-TAG: ${this.pick(["%", ",,,", "t".repeat(5000)])}`);
    if (this.rnd() < 0.2) headers.push(`X-Forwarded-Host: ${this.pick(["evil\r\nx", "a b", "%"])}`, `X-Forwarded-Proto: ${this.pick(["gopher", "https, http"])}`);
    if (this.rnd() < 0.1) headers.push(`X-Big: ${"h".repeat(70_000)}`);
    const head = Buffer.from(`${method} ${this.path()} HTTP/1.1\r\n${headers.join("\r\n")}\r\nConnection: close\r\n\r\n`, "latin1");
    await this.exchange(secure ? this.target.httpsPort : this.target.httpPort, secure, Buffer.concat([head, body]));
  }

  /** Writes the bytes, reads whatever comes back until the server closes or 3 s pass. */
  private exchange(port: number, secure: boolean, bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const socket: net.Socket = secure ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }) : net.connect({ port, host: "127.0.0.1" });
      const done = () => {
        socket.destroy();
        resolve();
      };
      socket.setTimeout(3000, done);
      socket.on("error", done);
      socket.on("close", done);
      socket.on("data", () => undefined);
      socket.once(secure ? "secureConnect" : "connect", () => socket.end(bytes));
    });
  }

  /** Syslog over TCP or TLS: framings that lie, bytes that are not text, frames that never end. */
  private async syslogStream(secure: boolean): Promise<void> {
    const frames = this.pick<() => Buffer>([
      () => Buffer.from("99999999999 <13>1 - - - - - - x"),
      () => Buffer.from(`0 1 2 -5 ${"9".repeat(30)} `),
      () => Buffer.from(`<13>1 2026-01-01T00:00:00Z h a - - [${randomUUID()}@41058 tag="x"] nul\0split\0here\n`),
      () => Buffer.from(`<999>0 - - - - - [a@b c="\\"] ${"]".repeat(500)}\n`),
      () => this.bytes(this.int(1, 65_536)),
      () => Buffer.concat([Buffer.from(`${1024 * 1024} <13>1 `), this.bytes(this.int(1000, 200_000))]), // a frame that never ends
      () => Buffer.from(`<13>Mar  1 00:00:00 host app: ${"a".repeat(this.int(1, 300_000))}`), // a line that never ends
    ])();
    await this.exchange(secure ? this.target.tlsPort : this.target.syslogPort, secure, frames);
  }

  private udp(): Promise<void> {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      const payload = this.rnd() < 0.5 ? this.bytes(this.int(0, 65_000)) : Buffer.from(`<13>1 - - - - - [${this.token()}@41058] ${"\0".repeat(this.int(0, 100))}`);
      s.send(payload, this.target.syslogPort, "127.0.0.1", () => s.close(() => resolve()));
      s.on("error", () => s.close(() => resolve()));
    });
  }

  /** Connections that hold resources: live tail clients that never read, half-sent headers and frames. */
  private hold(): void {
    const kind = this.pick(["tail", "slowloris", "partial-frame"]);
    const port = kind === "partial-frame" ? this.target.syslogPort : this.target.httpPort;
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.on("error", () => undefined);
    socket.pause(); // never read: the server must not buffer for us without limit
    this.held.add(socket);
    socket.once("close", () => this.held.delete(socket));
    socket.once("connect", () => {
      if (kind === "tail") socket.write(`GET /apiv2/tail?q=* HTTP/1.1\r\nHost: x\r\nAuthorization: bearer ${this.target.apiToken}\r\n\r\n`);
      else if (kind === "slowloris") socket.write("POST /bulk/x/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nX-A: ");
      else socket.write(Buffer.concat([Buffer.from(`${1024 * 1024} <13>1 `), Buffer.alloc(900 * 1024, 0x61)]));
    });
  }

  async one(): Promise<void> {
    this.tried++;
    const r = this.rnd();
    if (r < 0.45) return this.http(this.rnd() < 0.3);
    if (r < 0.7) return this.syslogStream(this.rnd() < 0.3);
    if (r < 0.9) return this.udp();
    if (this.held.size < 300) this.hold();
  }

  close(): void {
    for (const s of this.held) s.destroy();
  }
}

describe("the edge holds under seeded hostile input", () => {
  let program: Program;
  let victim: TenantTokens;
  let attacker: TenantTokens;
  let httpsPort: number;
  let tlsPort: number;

  beforeAll(async () => {
    const https = await httpsArgs();
    httpsPort = https.httpsPort;
    tlsPort = await freePort();
    program = await startProgram({ tlsPort, args: https.args });
    victim = JSON.parse(await cli(["tenants", "add", "victim", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    attacker = JSON.parse(await cli(["tenants", "add", "attacker", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    // The running server picks up new tenants within a second.
    await waitFor("the new tenants to be known", async () => (await fetch(program.url("/apiv2/customer"), { headers: { Authorization: `bearer ${victim.apiToken}` } })).status === 200);
  });

  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(program.dataDir);
  });

  it(`stays alive, stores every other tenant's events and keeps its memory under ${RSS_BOUND_MB} MiB (seed ${SEED})`, async () => {
    const pid = program.child.pid!;
    const marker = `victim${randomUUID().slice(0, 8)}`;
    const attack = new Attacker(seededRandom(SEED), { httpPort: program.httpPort, httpsPort, syslogPort: program.syslogPort, tlsPort, ingestToken: attacker.ingestToken, apiToken: attacker.apiToken });

    let maxRss = rssMb(pid);
    const sampler = setInterval(() => {
      if (program.child.exitCode === null) maxRss = Math.max(maxRss, rssMb(pid));
    }, 100);

    // The other tenant: a syslog TCP stream and HTTP bulk requests, all through the attack.
    let tcpSent = 0;
    let httpAcked = 0;
    const httpAnswers: number[] = [];
    const victimStream = net.connect({ port: program.syslogPort, host: "127.0.0.1" });
    let victimError: Error | undefined;
    victimStream.on("error", (err) => (victimError = err));
    await new Promise((r) => victimStream.once("connect", r));
    const deadline = Date.now() + ATTACK_MS;
    const victimLoop = (async () => {
      let batch = 0;
      while (Date.now() < deadline) {
        batch++;
        for (let i = 0; i < 10; i++) {
          const msg = Buffer.from(`<134>1 ${new Date().toISOString()} victim-host app - - [${victim.ingestToken}@41058 tag="fuzz"] ${marker} tcp ${batch}-${i}`);
          victimStream.write(Buffer.concat([Buffer.from(`${msg.length} `), msg]));
          tcpSent++;
        }
        const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ m: `${marker} http ${batch}-${i}`, level: "info" })).join("\n");
        const res = await fetch(program.url(`/bulk/${victim.ingestToken}/tag/fuzz/`), { method: "POST", body: lines }).catch(() => undefined);
        httpAnswers.push(res?.status ?? 0);
        if (res?.status === 200) httpAcked += 20;
        await res?.arrayBuffer().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // The attack, eight at a time.
    const random = seededRandom(SEED + 1);
    const workers = Array.from({ length: 8 }, async () => {
      while (Date.now() < deadline && program.child.exitCode === null) {
        await attack.one().catch(() => undefined);
        if (random() < 0.05) await new Promise((r) => setTimeout(r, 20));
      }
    });
    await Promise.all([victimLoop, ...workers]);
    attack.close();
    await new Promise<void>((r) => victimStream.end(r));
    expect(victimError).toBeUndefined();

    // Alive and healthy.
    expect(program.child.exitCode, program.output().slice(-4000)).toBeNull();
    const health = await fetch(program.url("/healthz"));
    expect(health.status).toBe(200);
    expect(attack.tried).toBeGreaterThan(50);
    // Every HTTP request of the other tenant was answered 200 (the attack never made it wait too long).
    expect(httpAnswers.filter((s) => s !== 200)).toEqual([]);

    // Every event of the other tenant is stored and searchable.
    const expected = tcpSent + httpAcked;
    const count = async () => {
      const res = await fetch(program.url(`/apiv2/events/count?q=${marker}&from=-1h`), { headers: { Authorization: `bearer ${victim.apiToken}` } });
      return ((await res.json()) as { count: number }).count;
    };
    let seen = 0;
    await waitFor(`all ${expected} events of the other tenant searchable`, async () => (seen = await count()) === expected, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen} of ${expected}`);
    });
    clearInterval(sampler);
    console.info(`edge fuzz (seed ${SEED}): ${attack.tried} attacks in ${ATTACK_MS} ms; the other tenant's ${expected} events all stored; server RSS peak ${maxRss.toFixed(0)} MiB`);
    expect(maxRss).toBeLessThan(RSS_BOUND_MB);
  }, 300_000);
});
