import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endProgram, readTopic, removeDir, startProgram, startWithTokens, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";
import { httpsArgs, json, parseAnswer, rawRequest, type RawAnswer } from "../helpers/http";

/** The real program's HTTP edge, attacked and used as Loggly's clients use it, over HTTP and HTTPS. */
describe("the HTTP edge of the real program", () => {
  let program: Program;
  let tokens: TenantTokens;
  let httpsPort: number;

  beforeAll(async () => {
    const https = await httpsArgs();
    httpsPort = https.httpsPort;
    ({ program, tokens } = await startWithTokens({ args: https.args }));
  });
  afterAll(() => endProgram(program));

  const send = (secure: boolean, method: string, target: string, opts: { headers?: Record<string, string>; body?: string } = {}) =>
    rawRequest({ port: secure ? httpsPort : program.httpPort, tls: secure, method, target, ...opts });

  for (const secure of [false, true]) {
    const scheme = secure ? "HTTPS" : "HTTP";
    it(`answers 400 to malformed escapes in any path, and stays up (${scheme})`, async () => {
      const auth = { Authorization: `bearer ${tokens.apiToken}` };
      const attacks: [string, string, { headers?: Record<string, string>; body?: string }][] = [
        ["POST", "/inputs/%E0%A4%A/", { body: "x" }],
        ["POST", "/bulk/%/", { body: "x" }],
        ["PUT", "/inputs/%/", { body: "x" }],
        ["POST", `/inputs/${tokens.ingestToken}/tag/%E0%A4%A/`, { body: "x" }],
        ["GET", "/inputs/%E0.gif?a=1", {}],
        ["GET", "/apiv2/fields/%/", { headers: auth }],
        ["GET", "/apiv2/events/%zz", { headers: auth }],
        ["GET", "/apiv2/alerts/%zz", { headers: auth }],
        ["DELETE", "/apiv2/alerts/%E0%A4%A", { headers: auth }],
        ["PATCH", "/apiv2/savedsearches/%zz", { headers: auth, body: "{}" }],
        ["GET", "/apiv2/tail/%", { headers: auth }],
        ["GET", "/%E0%A4%A", {}],
        ["GET", "/assets/%", {}],
      ];
      for (const [method, target, opts] of attacks) {
        const answer = await send(secure, method, target, opts);
        expect(answer?.status, `${method} ${target}`).toBe(400);
        expect(json(answer), `${method} ${target}`).toMatchObject({ response: "error", message: expect.stringMatching(/malformed URL/) });
      }
      expect(program.child.exitCode).toBeNull();
      expect((await fetch(program.url("/healthz"))).status).toBe(200);
      const ok = await send(secure, "POST", `/inputs/${tokens.ingestToken}`, { body: `after the attacks ${randomUUID()}` });
      expect(json(ok)).toEqual({ response: "ok" });
    });

    it(`answers unknown paths 404 and wrong methods 405 with Allow, in JSON; HEAD where GET is (${scheme})`, async () => {
      // Extension-less paths are the UI's own (it routes them in the browser); the rest are 404 in JSON.
      for (const [target, headers] of [["/nothing.txt", {}], ["/apiv2/nothing", { Authorization: `bearer ${tokens.apiToken}` }], ["/healthz/more", {}]] as const) {
        const notFound = await send(secure, "GET", target, { headers });
        expect(notFound?.status, target).toBe(404);
        expect(notFound?.headers["content-type"], target).toBe("application/json");
        expect(json(notFound), target).toMatchObject({ response: "error" });
      }
      expect((await send(secure, "POST", "/inputs", { body: "x" }))?.status).toBe(404);
      const cases: [string, string, string][] = [
        ["DELETE", `/bulk/${tokens.ingestToken}`, "POST, PUT, OPTIONS"],
        ["GET", `/bulk/${tokens.ingestToken}`, "POST, PUT, OPTIONS"],
        ["POST", "/healthz", "GET, HEAD"],
        ["POST", "/metrics", "GET"],
        ["POST", "/apiv2/search", "GET, HEAD"],
      ];
      for (const [method, target, allow] of cases) {
        const answer = await send(secure, method, target, { body: "x" });
        expect(answer?.status, `${method} ${target}`).toBe(405);
        expect(answer?.headers.allow, `${method} ${target}`).toBe(allow);
        expect(json(answer).response).toBe("error");
      }
      expect((await send(secure, "HEAD", "/healthz"))?.status).toBe(200);
      const metrics = await send(secure, "GET", "/metrics");
      expect(metrics?.body.toString()).toMatch(/unmeltable_events_durable_total/);
    });
  }

  it("refuses a request declared too large at once, without waiting for (or reading) its megabytes", async () => {
    // Only the headers and a few bytes are ever sent: an answer proves the server did not wait for the rest.
    for (const [target, declared] of [[`/bulk/${tokens.ingestToken}`, 6 * 1024 * 1024], [`/inputs/${tokens.ingestToken}`, 2 * 1024 * 1024]] as const) {
      const answer = await send(false, "POST", target, { headers: { "Content-Length": String(declared) }, body: "a few bytes" });
      expect(answer?.status, target).toBe(413);
      expect(answer?.headers.connection, target).toBe("close");
      expect(json(answer).message, target).toMatch(/exceeds the \d+-byte limit/);
    }
  });

  it("takes Loggly's tracking pixel: GET /inputs/TOKEN.gif?key=value is one JSON event, answered with a 1×1 GIF", async () => {
    const marker = randomUUID();
    const plain = await send(false, "GET", `/inputs/${tokens.ingestToken}.gif?source=pixel&data=${marker}&data=again`, { headers: { "X-LOGGLY-TAG": "px" } });
    expect(plain?.status).toBe(200);
    expect(plain?.headers["content-type"]).toBe("image/gif");
    expect(plain?.headers["cache-control"]).toMatch(/no-store/);
    expect(plain?.body.subarray(0, 6).toString()).toBe("GIF89a");
    expect([plain!.body.readUInt16LE(6), plain!.body.readUInt16LE(8)]).toEqual([1, 1]);
    // Older JS trackers send their JSON as ?PLAINTEXT=, with the tags in the path before a `1*1.gif`.
    const tracker = JSON.stringify({ text: `tracked ${marker}`, sessionId: "s1" });
    const js = await send(true, "GET", `/inputs/${tokens.ingestToken}/tag/js,web/1*1.gif?PLAINTEXT=${encodeURIComponent(tracker)}`);
    expect(js?.status).toBe(200);
    const events = await waitFor("the pixel events", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(marker));
      return all.length === 2 ? all : undefined;
    });
    const px = events.find((e) => e.tags.includes("px"))!;
    expect(JSON.parse(px.raw)).toEqual({ source: "pixel", data: [marker, "again"] });
    expect(px).toMatchObject({ tenant: "default", transport: "http" });
    const fromJs = events.find((e) => e.tags.includes("js"))!;
    expect(fromJs.raw).toBe(tracker);
    expect(fromJs).toMatchObject({ transport: "https", tags: ["js", "web"] });

    const unknown = await send(false, "GET", "/inputs/00000000-0000-0000-0000-000000000000.gif?a=1");
    expect(unknown?.status).toBe(401);
    expect((await send(false, "GET", `/inputs/${tokens.ingestToken}.gif`))?.status).toBe(400);
  });

  it("builds the iterator's next link from X-Forwarded-Proto and X-Forwarded-Host (behind a TLS proxy)", async () => {
    const marker = randomUUID().slice(0, 8);
    expect((await fetch(program.url(`/bulk/${tokens.ingestToken}`), { method: "POST", body: `${marker} one\n${marker} two\n${marker} three` })).status).toBe(200);
    const auth = { Authorization: `bearer ${tokens.apiToken}` };
    const query = `/apiv2/events/iterate?q=${marker}&from=-1h&size=1`;
    await waitFor("the events searchable", async () => {
      const res = await fetch(program.url(`/apiv2/events/count?q=${marker}&from=-1h`), { headers: auth });
      return ((await res.json()) as { count: number }).count === 3;
    });
    const proxied = (await (await fetch(program.url(query), { headers: { ...auth, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "logs.example.com" } })).json()) as { next: string };
    expect(proxied.next.startsWith("https://logs.example.com/apiv2/events/iterate?")).toBe(true);
    const direct = (await (await fetch(program.url(query), { headers: auth })).json()) as { next: string };
    expect(direct.next.startsWith(`http://127.0.0.1:${program.httpPort}/apiv2/events/iterate?`)).toBe(true);
    // The proxy's link leads to the next page (here, without the proxy).
    const second = (await (await fetch(program.url(new URL(proxied.next).pathname + new URL(proxied.next).search), { headers: auth })).json()) as { events: unknown[] };
    expect(second.events).toHaveLength(1);
    // A forged host that is not a host is not put into links.
    const forged = (await (await fetch(program.url(query), { headers: { ...auth, "X-Forwarded-Host": "evil.example/x?" } })).json()) as { next: string };
    expect(forged.next.startsWith(`http://127.0.0.1:${program.httpPort}/`)).toBe(true);
  });

  describe("live tail", () => {
    it("refuses the API token in the URL; takes it from the Authorization header or a single-use ticket", async () => {
      const inUrl = await fetch(program.url(`/apiv2/tail?q=*&token=${tokens.apiToken}`));
      expect(inUrl.status).toBe(401);
      expect(((await inUrl.json()) as { message: string }).message).toMatch(/not accepted in the URL/);
      expect((await fetch(program.url("/apiv2/tail/ticket"), { method: "POST" })).status).toBe(401);

      const issued = await fetch(program.url("/apiv2/tail/ticket"), { method: "POST", headers: { Authorization: `bearer ${tokens.apiToken}` } });
      expect(issued.status).toBe(200);
      const { ticket, expiresAt } = (await issued.json()) as { ticket: string; expiresAt: string };
      expect(ticket).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
      const marker = randomUUID();
      const ctl = new AbortController();
      const stream = await fetch(program.url(`/apiv2/tail?q=${marker}&ticket=${ticket}`), { signal: ctl.signal });
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream");
      try {
        const reader = stream.body!.getReader();
        let text = "";
        await waitFor("the stream to open", async () => /^unmeltable_tail_streams [1-9]/m.test(await (await fetch(program.url("/metrics"))).text()));
        expect((await fetch(program.url(`/inputs/${tokens.ingestToken}`), { method: "POST", body: `tailed ${marker}` })).status).toBe(200);
        while (!text.includes(`tailed ${marker}`)) text += new TextDecoder().decode((await reader.read()).value);
        // Used once: the same ticket opens nothing more.
        expect((await fetch(program.url(`/apiv2/tail?q=*&ticket=${ticket}`))).status).toBe(401);
        expect((await fetch(program.url("/apiv2/tail?q=*&ticket=made-up"))).status).toBe(401);
      } finally {
        ctl.abort();
      }
    });

    it("cuts off readers that never read, so they cannot grow the server's memory, while a reading client gets every event", { timeout: 400_000 }, async () => {
      const readers = 5;
      const MB = 1024 * 1024;
      const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${program.child.pid}/status`, "utf8"))![1]) * 1024;
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(await (await fetch(program.url("/metrics"))).text())?.[1] ?? "NaN");
      const cutBefore = await metric("unmeltable_tail_slow_readers_total");
      // A client that reads, following only the probes: it must get every one, whatever the others do.
      const probe = randomUUID().slice(0, 8);
      const ctl = new AbortController();
      const reading = await fetch(program.url(`/apiv2/tail?q=${probe}`), { headers: { Authorization: `bearer ${tokens.apiToken}` }, signal: ctl.signal });
      let received = "";
      const readAll = (async () => {
        const decoder = new TextDecoder();
        for await (const c of reading.body!) received += decoder.decode(c as Uint8Array, { stream: true });
      })().catch(() => undefined);
      await waitFor("the reading stream open", async () => received.startsWith(": tailing"));

      let round = 0;
      let probes = 0;
      /** Sends `mb` batches of ~1 MB (1,000 JSON events and a probe each); the peak RSS seen meanwhile. */
      const flow = async (mb: number) => {
        let peak = 0;
        for (const end = round + mb; round < end; round++) {
          const batch = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ message: `tail pressure ${round}-${i} ${"p".repeat(900)}`, level: "info" }));
          batch.push(`${probe} probe ${probes++}`);
          expect((await fetch(program.url(`/bulk/${tokens.ingestToken}`), { method: "POST", body: batch.join("\n") })).status).toBe(200);
          peak = Math.max(peak, rss());
        }
        return peak;
      };
      const tailed = () =>
        received
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => (JSON.parse(l.slice(6)) as { logmsg: string }).logmsg);
      // The pipeline (queue, process, index) takes the memory it needs for this flow first, without stalled
      // readers, and indexes all of it before the next flow: the collector takes a flow far faster than it is
      // indexed, so a flow sent while the last is still being indexed would measure both (waits sized for a busy
      // machine). Twice: after one flow its memory may still grow (measured: +55 MB in a second flow without
      // readers, +13 MB more in a third with them), and that growth is not the stalled readers'.
      let without = 0;
      for (const n of [1, 2]) {
        without = await flow(30);
        await waitFor(`flow ${n} indexed and tailed`, async () => tailed().length === probes, 120_000);
      }

      // …then the same flow again with readers that send their request and never read a byte.
      const stalled = await Promise.all(
        Array.from(
          { length: readers },
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const s = net.connect(program.httpPort, "127.0.0.1", () => {
                s.write(`GET /apiv2/tail?q=* HTTP/1.1\r\nHost: x\r\nAuthorization: bearer ${tokens.apiToken}\r\n\r\n`);
              });
              // The stream's first bytes (its headers), then not one byte more.
              s.once("data", (head: Buffer) => {
                s.pause();
                if (head.toString("latin1").startsWith("HTTP/1.1 200")) resolve(s);
                else reject(new Error(`the tail answered ${head.toString("latin1").split("\r\n")[0]}`));
              });
              s.on("error", reject);
            }),
        ),
      );
      const closed = stalled.map((s) => new Promise<void>((r) => s.on("close", () => r())));
      for (const s of stalled) s.on("error", () => undefined);
      const withStalled = await flow(30);
      // Unbounded, the server holds the 30 MB flow (more, as event JSON) for each of the 5: over 150 MB
      // (+710 MB measured on the server before the bound). Bounded: 1 MiB each, lost in the noise of ±40 MB.
      expect(withStalled - without).toBeLessThan(128 * MB);

      // Each stalled reader was cut off; its connection closes (and its buffers go) once it is let go.
      await waitFor("the stalled readers cut off", async () => (await metric("unmeltable_tail_slow_readers_total")) - cutBefore === readers, 30_000);
      await waitFor("only the reading stream left", async () => (await metric("unmeltable_tail_streams")) === 1, 30_000);
      for (const s of stalled) s.resume();
      await Promise.all(closed);

      await waitFor("every probe at the reading client", async () => tailed().length === probes, 120_000);
      expect(tailed()).toEqual(Array.from({ length: probes }, (_, i) => `${probe} probe ${i}`));
      ctl.abort();
      await readAll;
      expect(program.child.exitCode).toBeNull();
    });
  });
});

/**
 * Stopping with requests in flight: every request either gets its whole answer — 200 only when its
 * events are stored — or never got in (refused, or reset before the server read it, and then nothing of
 * it is stored). Slow senders still sending their body when SIGTERM arrives are waited for.
 */
describe("SIGTERM drains HTTP requests in flight", () => {
  it("answers every request in flight before exiting, and 200 only for stored events", async () => {
    const program = await startProgram();
    try {
      const { ingestToken } = await tenantTokens(program.dataDir);
      // Slow senders: headers read by the server (it sent 100 Continue), half the body sent.
      const slow = await Promise.all(Array.from({ length: 8 }, (_, i) => slowSender(program.httpPort, ingestToken, `slow-${i}-${randomUUID()}`)));

      // A storm of small requests on fresh connections, running through the SIGTERM.
      const outcomes: { marker: string; answer: RawAnswer | undefined }[] = [];
      let stormOn = true;
      const storm = Array.from({ length: 12 }, async (_, w) => {
        for (let n = 0; stormOn; n++) {
          const marker = `storm-${w}-${n}-${randomUUID()}`;
          const answer = await rawRequest({ port: program.httpPort, method: "POST", target: `/bulk/${ingestToken}`, body: `${marker}\n` }).catch(() => undefined);
          outcomes.push({ marker, answer });
          if (!answer) return; // refused or reset: the server stopped taking connections
        }
      });
      await waitFor("the storm under way", async () => outcomes.filter((o) => o.answer?.status === 200).length >= 100);
      program.child.kill("SIGTERM");
      // The server stops accepting…
      await waitFor("new connections refused", async () => (await rawRequest({ port: program.httpPort, method: "GET", target: "/healthz" }).catch(() => undefined)) === undefined);
      // …while the slow senders take their time with the rest of their bodies.
      const slowAnswers = await Promise.all(slow.map((s) => s.finish()));
      stormOn = false;
      await Promise.all(storm);
      const exitCode = await new Promise<number | null>((r) => (program.child.exitCode !== null ? r(program.child.exitCode) : program.child.on("exit", (c) => r(c))));
      expect(exitCode).toBe(0);

      for (const a of slowAnswers) {
        expect(a?.status).toBe(200);
        expect(a?.complete).toBe(true);
      }
      const stored = new Set((await readTopic(program.dataDir)).map((e) => e.raw));
      for (const s of slow) expect(stored.has(s.marker), s.marker).toBe(true);
      for (const { marker, answer } of outcomes) {
        if (answer) {
          expect(answer.complete, `${marker}: answer cut off`).toBe(true);
          expect([200, 503], marker).toContain(answer.status);
          if (answer.status === 200) expect(stored.has(marker), `${marker}: 200 but not stored`).toBe(true);
        } else {
          expect(stored.has(marker), `${marker}: stored but never answered`).toBe(false);
        }
      }
    } finally {
      if (program.child.exitCode === null) await program.kill();
      await removeDir(program.dataDir);
    }
  });
});

/** A sender whose request the server has begun (100 Continue came back) with half its body sent; `finish` sends the rest slowly. */
function slowSender(port: number, token: string, marker: string): Promise<{ marker: string; finish: () => Promise<RawAnswer | undefined> }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(`${marker}\n`);
    const half = Math.floor(body.length / 2);
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let continued = false;
    let answered: (a: RawAnswer | undefined) => void = () => undefined;
    const answer = new Promise<RawAnswer | undefined>((r) => (answered = r));
    socket.on("connect", () => {
      socket.write(`POST /bulk/${token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
    });
    socket.on("data", (c: Buffer) => {
      if (!continued && c.toString("latin1").startsWith("HTTP/1.1 100")) {
        continued = true;
        socket.write(body.subarray(0, half));
        resolve({
          marker,
          finish: async () => {
            // Slow: the rest a byte at a time, over about three seconds.
            for (let i = half; i < body.length; i++) {
              await new Promise((r) => setTimeout(r, 3000 / (body.length - half)));
              if (socket.destroyed) break;
              socket.write(body.subarray(i, i + 1));
            }
            return answer;
          },
        });
        return;
      }
      chunks.push(c);
    });
    socket.on("error", (err) => (continued ? undefined : reject(err)));
    socket.on("close", () => answered(chunks.length === 0 ? undefined : parseAnswer(Buffer.concat(chunks))));
  });
}
