import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressClass, boundedResolver, channelNotifier, GENERIC_DELIVERY_FAILURE, handleAlertsApi, parseAllowList, SqliteAlertStore, webhookSender, WebhookPolicy, type ResolvedAddress } from "../../packages/alerts/src/index";
import { checkAlerts, MemoryLogger, searchLink, webhookPayload, type Tenant, type TenantDirectory } from "../../packages/core/src/index";

/**
 * Alert webhooks must not reach what the server can reach but the tenant cannot: loopback, the cloud
 * metadata service, private networks. The receiver here listens on 127.0.0.1, and each test says
 * whether the operator allow-listed it.
 */
const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);
const about = { tenant: "acme", alertId: "a1" };
const payload = webhookPayload({ alertId: "a1", alertName: "n", tenant: "acme", firedAt: T0, query: "q", count: 1, comparison: "above", threshold: 0, windowMinutes: 1, from: T0 - 60_000, until: T0, link: "L" });

describe("which addresses a webhook may reach", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.254", "private"],
    ["192.168.1.1", "private"],
    ["fc00::1", "uniqueLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["169.254.169.254", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["::ffff:127.0.0.1", "ipv4Mapped"],
    ["::ffff:8.8.8.8", "ipv4Mapped"],
    ["::7f00:1", "ipv4Compatible"],
    ["64:ff9b::a9fe:a9fe", "rfc6052"],
    ["2002:a9fe:a9fe::", "6to4"],
    ["100::1", "discard"],
  ])("refuses %s (%s)", (address, cls) => {
    expect(addressClass(address)).toBe(cls);
  });

  it.each(["8.8.8.8", "1.1.1.1", "11.0.0.1", "2606:4700::1111", "2a00:1450:4001::200e"])("lets %s (public) through", (address) => {
    expect(addressClass(address)).toBeUndefined();
  });
});

describe("checking a webhook URL", () => {
  const policy = new WebhookPolicy();

  it.each([
    ["http://127.0.0.1:8080/hook", "127.0.0.1, a loopback address"],
    ["http://2130706433/", "127.0.0.1, a loopback address"],
    ["http://0x7f.1/", "127.0.0.1, a loopback address"],
    ["http://0177.0.0.1/", "127.0.0.1, a loopback address"],
    ["http://[::1]:9000/", "::1, a loopback address"],
    ["http://[::ffff:127.0.0.1]/", "an IPv4 address in IPv6 form"],
    ["http://[::127.0.0.1]/", "an IPv4 address in IPv6 form"],
    ["http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254, a link-local address"],
    ["http://[fd00:ec2::254]/latest/meta-data/", "a private network address"],
    ["https://10.0.0.5/", "10.0.0.5, a private network address"],
    ["http://172.20.1.1/", "a private network address"],
    ["http://192.168.0.10:3000/", "a private network address"],
    ["http://100.100.100.200/", "a carrier-grade NAT address"],
    ["http://0.0.0.0:8080/", "0.0.0.0, an unspecified address"],
    ["http://224.0.0.251/", "a multicast address"],
    ["http://255.255.255.255/", "the broadcast address"],
    ["http://240.1.2.3/", "a reserved address"],
  ])("refuses %s", async (url, words) => {
    const check = await policy.check(url);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.reason).toContain(words);
    expect(check.reason).toContain("webhooks go to public internet addresses only");
  });

  it("refuses a host name that resolves to loopback (localhost, through the system resolver) without saying what it resolves to", async () => {
    for (const url of ["http://localhost:8080/", "http://LocalHost/x"]) {
      const check = await policy.check(url);
      expect(check).toMatchObject({ ok: false, reason: expect.stringMatching(/^localhost does not resolve to a public internet address/) });
      if (!check.ok) {
        expect(check.reason).not.toMatch(/127\.0\.0\.1|::1|loopback/);
        expect(check.detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
      }
    }
  });

  it("refuses a name with one internal address among public ones, and a name that does not resolve, in the same words", async () => {
    const answers: Record<string, ResolvedAddress[]> = {
      "mixed.example": [
        { address: "93.184.215.14", family: 4 },
        { address: "10.0.0.7", family: 4 },
      ],
    };
    const p = new WebhookPolicy({
      resolve: async (host) => {
        const a = answers[host];
        if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
        return a;
      },
    });
    const mixed = await p.check("https://mixed.example/hook");
    const missing = await p.check("https://nowhere.example/hook");
    expect(mixed).toMatchObject({ ok: false, reason: "mixed.example does not resolve to a public internet address: webhooks go to public internet addresses only (an operator can allow more with --webhook-allow)" });
    expect(missing).toMatchObject({ ok: false, reason: expect.stringMatching(/^nowhere\.example does not resolve to a public internet address/) });
  });

  it("accepts a public address, and resolves a name to the addresses it will connect to", async () => {
    expect(await policy.check("https://8.8.8.8/hook")).toEqual({ ok: true, addresses: [{ address: "8.8.8.8", family: 4 }], allowListed: false });
    expect(await policy.check("http://[2606:4700::1111]:8443/")).toEqual({ ok: true, addresses: [{ address: "2606:4700::1111", family: 6 }], allowListed: false });
    const p = new WebhookPolicy({ resolve: async () => [{ address: "93.184.215.14", family: 4 }] });
    expect(await p.check("https://hooks.example.com/x")).toEqual({ ok: true, addresses: [{ address: "93.184.215.14", family: 4 }], allowListed: false });
  });

  it("lets the operator allow CIDRs, addresses and host names (also *.domain), and says so", async () => {
    const p = new WebhookPolicy({ allow: parseAllowList("10.0.0.0/8, 127.0.0.1 [::1] localhost,*.corp.example") });
    expect(await p.check("http://10.9.8.7/")).toMatchObject({ ok: true, allowListed: true });
    expect(await p.check("http://127.0.0.1:9/")).toMatchObject({ ok: true, allowListed: true });
    expect(await p.check("http://[::ffff:127.0.0.1]:9/")).toMatchObject({ ok: true, allowListed: true });
    expect(await p.check("http://[::1]:9/")).toMatchObject({ ok: true, allowListed: true });
    expect(await p.check("http://localhost:9/")).toMatchObject({ ok: true, allowListed: true });
    expect(await p.check("http://127.0.0.2/")).toMatchObject({ ok: false });
    expect(await p.check("http://169.254.169.254/")).toMatchObject({ ok: false });
    const wild = new WebhookPolicy({ allow: ["*.corp.example"], resolve: async () => [{ address: "10.1.1.1", family: 4 }] });
    expect(await wild.check("https://hooks.corp.example/")).toMatchObject({ ok: true, allowListed: true, addresses: [{ address: "10.1.1.1", family: 4 }] });
    expect(await wild.check("https://corp.example.evil.test/")).toMatchObject({ ok: false });
    expect(p.describe()).toBe("webhooks go to public addresses and to 10.0.0.0/8, 127.0.0.1, [::1], localhost, *.corp.example");
    expect(() => parseAllowList("10.0.0.0/33")).toThrow(/not a valid CIDR/);
    expect(() => parseAllowList("http://hooks")).toThrow(/webhook allow-list: "http:\/\/hooks"/);
    expect(() => parseAllowList("hooks!internal")).toThrow(/not a CIDR, an IP address or a host name/);
  });
});

describe("DNS lookups for webhooks are bounded", () => {
  it("lets one tenant's never-answered names hold one lookup slot at most, and the others' names still resolve", async () => {
    const started: string[] = [];
    // A DNS server that never answers for *.slow.example: the lookup hangs for good.
    const resolve = boundedResolver(
      (host) => {
        started.push(host);
        return host.endsWith(".slow.example") ? new Promise<never>(() => undefined) : Promise.resolve([{ address: "93.184.215.14", family: 4 as const }]);
      },
      { maxInFlight: 2, perOwner: 1, timeoutMs: 100 },
    );
    const first = resolve("a.slow.example", "mallory").catch((e: NodeJS.ErrnoException) => e.code);
    const second = resolve("b.slow.example", "mallory").catch((e: NodeJS.ErrnoException) => e.code);
    expect(await resolve("hooks.example.com", "alice")).toEqual([{ address: "93.184.215.14", family: 4 }]);
    expect(await first).toBe("ETIMEOUT");
    expect(await second).toBe("ETIMEOUT");
    // Mallory's second name never reached the resolver: one slot stays free for everyone else.
    expect(started).toEqual(["a.slow.example", "hooks.example.com"]);
    expect(await resolve("hooks.example.org", "bob")).toEqual([{ address: "93.184.215.14", family: 4 }]);
  });
});

describe("the alerts API refuses an internal webhook when the alert is saved", () => {
  let dir: string;
  let store: SqliteAlertStore;
  const acme: Tenant = { name: "acme", ingestToken: "in", apiToken: "tok", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
  const tenants: TenantDirectory = { byApiToken: (t) => (t === "tok" ? acme : undefined), byIngestToken: () => undefined, byName: () => acme, list: () => [acme] };
  const body = (webhookUrl: string) => ({ name: "errors", query: "*", threshold: 0, windowMinutes: 5, webhookUrl });
  const call = (method: string, p: string, b: unknown, webhooks = new WebhookPolicy()) =>
    handleAlertsApi({ method, path: p, query: new URLSearchParams(), headers: { authorization: "bearer tok" }, body: JSON.stringify(b) }, { store, tenants, webhooks });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-webhook-api-"));
    store = new SqliteAlertStore(dir);
  });
  afterAll(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers 400 with the webhookUrl field's error for each internal destination, and stores nothing", async () => {
    for (const url of ["http://localhost:8080/x", "http://2130706433/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://192.168.1.1/"]) {
      const r = await call("POST", "/apiv2/alerts", body(url));
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ response: "error", errors: [{ field: "webhookUrl", message: expect.stringContaining("public internet address") }] });
    }
    expect(await store.list("acme")).toEqual([]);
  });

  it("saves a public destination, refuses an edit that points it inside, and takes an allow-listed one", async () => {
    const created = await call("POST", "/apiv2/alerts", body("https://1.1.1.1/hook"));
    expect(created.status).toBe(201);
    const id = (created.body as { alert: { id: string } }).alert.id;
    const moved = await call("PATCH", `/apiv2/alerts/${id}`, { webhookUrl: "http://127.0.0.1:9200/_shutdown" });
    expect(moved.status).toBe(400);
    expect((await store.get("acme", id))!.webhookUrl).toBe("https://1.1.1.1/hook");
    const allowed = await call("PATCH", `/apiv2/alerts/${id}`, { webhookUrl: "http://10.0.0.9/hook" }, new WebhookPolicy({ allow: ["10.0.0.0/24"] }));
    expect(allowed.status).toBe(200);
  });
});

describe("delivering a webhook", () => {
  let server: http.Server;
  let port: number;
  const hits: string[] = [];
  const logged = new MemoryLogger();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        hits.push(req.url!);
        if (req.url === "/redirect") res.writeHead(302, { Location: `http://127.0.0.1:${port}/redirected` }).end();
        else if (req.url === "/gone") res.writeHead(405).end();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("re-checks the destination at delivery: an alert saved before (or under another allow-list) reaching loopback is not sent", async () => {
    hits.length = 0;
    const send = webhookSender({ retryDelayMs: 1, logger: logged });
    for (const url of [`http://127.0.0.1:${port}/direct`, `http://localhost:${port}/by-name`, `http://2130706433:${port}/decimal`]) {
      expect(await send(url, payload, about)).toMatchObject({ ok: false, error: GENERIC_DELIVERY_FAILURE, attempts: 3 });
    }
    expect(hits).toEqual([]);
    expect(logged.lines).toContainEqual({
      level: "warn",
      message: "webhook refused: its destination is not allowed",
      fields: { tenant: "acme", alert: "a1", destination: `http://localhost:${port}`, attempt: expect.any(Number), detail: expect.stringContaining("(loopback)") },
    });
  });

  it("refuses a name whose DNS answer changed to an internal address after the alert was saved (rebinding)", async () => {
    hits.length = 0;
    // A name under the tenant's control: a public address when the alert is saved, loopback afterwards.
    let lookups = 0;
    const rebinding = new WebhookPolicy({
      resolve: async () => (lookups++ === 0 ? [{ address: "93.184.215.14", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]),
    });
    expect(await rebinding.check(`http://rebind.example:${port}/x`)).toMatchObject({ ok: true });
    const delivery = await webhookSender({ policy: rebinding, retryDelayMs: 1, logger: logged })(`http://rebind.example:${port}/x`, payload, about);
    expect(delivery).toMatchObject({ ok: false, error: GENERIC_DELIVERY_FAILURE, attempts: 3 });
    expect(hits).toEqual([]);
  });

  it("connects to the address it checked, not to a second DNS answer", async () => {
    hits.length = 0;
    // Only the checked answer knows this name (the system resolver does not): a delivery that looked it
    // up again could not connect at all.
    const names: string[] = [];
    const pinned = new WebhookPolicy({
      allow: ["127.0.0.1"],
      resolve: async (host) => {
        names.push(host);
        return [{ address: "127.0.0.1", family: 4 }];
      },
    });
    const delivery = await webhookSender({ policy: pinned, logger: logged })(`http://hooks.unmeltable.invalid:${port}/pinned`, payload, about);
    expect(delivery).toMatchObject({ ok: true, status: 204, attempts: 1 });
    expect(hits).toEqual(["/pinned"]);
    expect(names).toEqual(["hooks.unmeltable.invalid"]);
  });

  it("does not follow a redirect", async () => {
    hits.length = 0;
    const delivery = await webhookSender({ policy: new WebhookPolicy({ allow: ["127.0.0.1"] }), retryDelayMs: 1, logger: logged })(`http://127.0.0.1:${port}/redirect`, payload, about);
    expect(delivery).toMatchObject({ ok: false, status: 302, error: "the webhook answered 302", attempts: 3 });
    expect(hits).toEqual(["/redirect", "/redirect", "/redirect"]);
  });

  it("tells an allow-listed destination's failures in detail, as the operator's own hooks deserve", async () => {
    const send = webhookSender({ policy: new WebhookPolicy({ allow: ["127.0.0.1"] }), retryDelayMs: 1, logger: logged });
    expect(await send(`http://127.0.0.1:${port}/gone`, payload, about)).toMatchObject({ ok: false, status: 405, error: "the webhook answered 405", attempts: 1 });
    const refused = await send("http://127.0.0.1:1/", payload, about);
    expect(refused).toMatchObject({ ok: false, error: "could not reach the webhook: ECONNREFUSED", attempts: 3 });
    expect(refused.tries!.map((t) => t.error)).toEqual(Array(3).fill("could not reach the webhook: ECONNREFUSED"));
  });

  it("records a refused delivery in the firing history in the generic words, from the same checkAlerts the Lambda runs", async () => {
    hits.length = 0;
    const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-webhook-firing-"));
    const store = new SqliteAlertStore(dir);
    try {
      // Saved while the operator allowed it; the allow-list has changed since.
      const alert = await store.create("acme", { name: "n", query: "*", comparison: "above", threshold: 0, windowMinutes: 5, webhookUrl: `http://127.0.0.1:${port}/hook`, enabled: true }, T0);
      await checkAlerts({ store, index: { count: async () => 3 }, notify: channelNotifier({ webhooks: webhookSender({ retryDelayMs: 1, logger: logged }), publicUrl: () => "http://ui" }), linkFor: (q, f, u) => searchLink("http://ui", q, f, u), now: () => T0 });
      const [firing] = await store.firings("acme", { alertId: alert.id, limit: 10 });
      expect(firing!.delivery).toMatchObject({ ok: false, error: GENERIC_DELIVERY_FAILURE, attempts: 3 });
      // Each attempt is in the history, in the same generic words: no status, no reason.
      expect(firing!.delivery.tries).toEqual(Array(3).fill({ at: expect.any(Number), ok: false, error: GENERIC_DELIVERY_FAILURE }));
      expect(hits).toEqual([]);
    } finally {
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
