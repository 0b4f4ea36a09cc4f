import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpServer, type ReceivedMail } from "../helpers/smtp";
import { channelNotifier, handleAlertsApi, smtpMailer, SqliteAlertStore, webhookSender, WebhookPolicy } from "../../packages/alerts/src/index";
import { checkAlerts, noLogger, pagerDutyDedupKey, searchLink, type AlertSpec, type Tenant, type TenantDirectory } from "../../packages/core/src/index";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { makeEvent } from "../contract/index.contract";

/**
 * Alert channels end to end, on this machine's real parts: the checker counts through the embedded index,
 * Slack's and PagerDuty's endpoints are HTTP receivers here (allow-listed on loopback, as an operator
 * allows their own hooks), and email goes over SMTP (nodemailer) to a real SMTP server (smtp-server).
 * Each alert fires when its events are in the window and is resolved when they have left it.
 */
interface Received {
  path: string;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the JSON as sent, checked field by field
}

describe("alert channels: Slack, PagerDuty, email, and resolved notifications", () => {
  let dir: string;
  let index: EmbeddedIndex;
  let store: SqliteAlertStore;
  let hooks: http.Server;
  let hookBase: string;
  const received: Received[] = [];
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let smtpPort: number;
  let mails: ReceivedMail[];
  /** Answers of the SMTP server to the next messages, in order ("ok" when empty). */
  const smtpAnswers: ("ok" | 451 | 550)[] = [];
  const T0 = Date.now();
  const policy = new WebhookPolicy({ allow: ["127.0.0.1"] });

  const base = (over: Partial<AlertSpec>): AlertSpec => ({ name: "x", query: "checkout", comparison: "above", threshold: 0, windowMinutes: 5, webhookUrl: "", enabled: true, notifyResolved: true, ...over });
  const notifier = () =>
    channelNotifier({
      webhooks: webhookSender({ policy, retryDelayMs: 5, logger: noLogger }),
      mail: smtpMailer(`smtp://127.0.0.1:${smtpPort}`, { from: "unmeltable <alerts@logs.example.com>", logger: noLogger, retryDelayMs: 5 }),
      pagerDutyUrl: `${hookBase}/v2/enqueue`,
      publicUrl: () => "https://logs.example.com",
    });
  const check = (now: number) => checkAlerts({ store, index, notify: notifier(), linkFor: (q, f, u) => searchLink("https://logs.example.com", q, f, u), now: () => now });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-channels-"));
    index = new EmbeddedIndex({ dir: path.join(dir, "index"), writer: "thread", defaultSlice: "day" });
    const events = [0, 1, 2].map((i) => makeEvent("acme", T0 - 60_000 + i * 1000, { logmsg: `checkout failed ${i}` }));
    await index.write("acme", events.map((e) => JSON.stringify(e)));
    store = new SqliteAlertStore(path.join(dir, "alerts"));

    hooks = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: JSON.parse(body) as Record<string, unknown> });
        // PagerDuty answers 202 with a status; Slack answers 200 "ok".
        if (req.url?.startsWith("/v2/enqueue")) res.writeHead(202, { "Content-Type": "application/json" }).end('{"status":"success","message":"Event processed"}');
        else res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", r));
    hookBase = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;

    smtp = await startSmtpServer(() => smtpAnswers.shift() ?? "ok");
    smtpPort = smtp.port;
    mails = smtp.mails;
  });

  afterAll(async () => {
    store.close();
    await index.close();
    await new Promise<void>((r) => hooks.close(() => r()));
    await smtp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("notifies Slack, PagerDuty and email in their formats, then once each that it is resolved", async () => {
    const slack = await store.create("acme", base({ name: "Checkout (Slack)", channel: "slack", webhookUrl: `${hookBase}/services/T000/B000/XXXX` }), T0);
    const pd = await store.create("acme", base({ name: "Checkout (PagerDuty)", channel: "pagerduty", routingKey: "R0123456789abcdef0123456789abcdef" }), T0);
    const mail = await store.create("acme", base({ name: "Checkout (email)", channel: "email", emailTo: ["oncall@example.com", "dev@example.com"] }), T0);

    // The three events are in the window: each alert fires.
    const first = await check(T0);
    expect(first.map((r) => [r.count, r.fired])).toEqual([
      [3, true],
      [3, true],
      [3, true],
    ]);
    const slackMsg = received.find((r) => r.path.startsWith("/services/"))!.body;
    expect(slackMsg.text).toBe(":rotating_light: Checkout (Slack): 3 events in the last 5 minutes (alert: more than 0 events in 5 minutes)");
    expect(slackMsg.blocks[2].elements[0].text).toMatch(/^<https:\/\/logs\.example\.com\/#\/search\?q=checkout&from=.*\|Open the search>/);
    const trigger = received.find((r) => r.path === "/v2/enqueue")!.body;
    expect(trigger).toMatchObject({
      routing_key: "R0123456789abcdef0123456789abcdef",
      event_action: "trigger",
      dedup_key: pagerDutyDedupKey({ tenant: "acme", alertId: pd.id }),
      payload: { summary: "Checkout (PagerDuty): 3 events in the last 5 minutes (alert: more than 0 events in 5 minutes)", source: "unmeltable/acme", severity: "error", custom_details: { query: "checkout", count: 3 } },
      client: "unmeltable",
      client_url: "https://logs.example.com",
      links: [{ href: expect.stringContaining("https://logs.example.com/#/search?q=checkout"), text: "Open the search" }],
    });
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(["oncall@example.com", "dev@example.com"]);
    expect(mails[0]!.subject).toBe("[unmeltable] Checkout (email): 3 events in the last 5 minutes (alert: more than 0 events in 5 minutes)");
    expect(mails[0]!.raw).toContain("From: unmeltable <alerts@logs.example.com>");
    expect(mails[0]!.raw).toContain("Auto-Submitted: auto-generated");
    expect(mails[0]!.text).toMatch(/^Open the search: https:\/\/logs\.example\.com\/#\/search\?q=checkout&from=/m);
    expect(mails[0]!.text).toContain("Query:   checkout");

    // Ten minutes on, the events have left the window: resolved, once.
    received.length = 0;
    const second = await check(T0 + 10 * 60_000);
    expect(second.map((r) => [r.count, r.fired, r.resolved])).toEqual([
      [0, false, true],
      [0, false, true],
      [0, false, true],
    ]);
    expect(received.find((r) => r.path.startsWith("/services/"))!.body.text).toMatch(/^:white_check_mark: Resolved: Checkout \(Slack\): 0 events/);
    expect(received.find((r) => r.path === "/v2/enqueue")!.body).toEqual({ routing_key: "R0123456789abcdef0123456789abcdef", dedup_key: pagerDutyDedupKey({ tenant: "acme", alertId: pd.id }), event_action: "resolve" });
    expect(mails[1]!.subject).toMatch(/^\[unmeltable\] Resolved: Checkout \(email\): 0 events/);
    const third = await check(T0 + 11 * 60_000);
    expect(third.every((r) => !r.fired && !r.resolved)).toBe(true);

    for (const a of [slack, pd, mail]) {
      const history = await store.firings("acme", { alertId: a.id, limit: 10 });
      expect(history.map((f) => [f.kind, f.channel, f.delivery.ok])).toEqual([
        ["resolved", a.channel, true],
        ["triggered", a.channel, true],
      ]);
      await store.delete("acme", a.id);
    }
  });

  it("retries an email the mail server defers, and records each attempt; a refusal is not retried", async () => {
    const a = await store.create("acme", base({ name: "deferred", channel: "email", emailTo: ["oncall@example.com"] }), T0);
    smtpAnswers.push(451);
    const before = mails.length;
    await check(T0);
    const [f] = await store.firings("acme", { alertId: a.id, limit: 1 });
    expect(f!.delivery).toMatchObject({ ok: true, attempts: 2 });
    expect(f!.delivery.tries!.map((t) => [t.ok, t.error])).toEqual([
      [false, "could not send the email: the mail server answered 451"],
      [true, undefined],
    ]);
    expect(mails.length).toBe(before + 1);
    await store.delete("acme", a.id);

    const refused = await store.create("acme", base({ name: "refused", channel: "email", emailTo: ["nobody@example.com"] }), T0);
    smtpAnswers.push(550);
    await check(T0);
    const [g] = await store.firings("acme", { alertId: refused.id, limit: 1 });
    expect(g!.delivery).toMatchObject({ ok: false, attempts: 1, error: "could not send the email: the mail server answered 550" });
    await store.delete("acme", refused.id);
  });

  it("checks each channel's settings when an alert is saved, and refuses email where no mail server is configured", async () => {
    const acme: Tenant = { name: "acme", apiToken: "tok", ingestToken: "in", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
    const tenants: TenantDirectory = { byApiToken: (t) => (t === "tok" ? acme : undefined), byIngestToken: () => undefined, byName: () => acme, list: () => [acme] };
    const post = (body: unknown, email = true) =>
      handleAlertsApi({ method: "POST", path: "/apiv2/alerts", query: new URLSearchParams(), headers: { authorization: "Bearer tok" }, body: JSON.stringify(body) }, { store, tenants, webhooks: policy, email });
    const spec = { name: "n", query: "*", threshold: 0, windowMinutes: 5 };
    const fieldsOf = async (body: unknown, email = true) => {
      const r = await post(body, email);
      return r.status === 201 ? "created" : (r.body as { errors: { field: string; message: string }[] }).errors.map((e) => `${e.field}: ${e.message}`);
    };
    expect(await fieldsOf({ ...spec, channel: "pagerduty" })).toEqual([expect.stringMatching(/^routingKey: a PagerDuty routing key is required/)]);
    expect(await fieldsOf({ ...spec, channel: "pagerduty", routingKey: "R0123456789abcdef0123456789abcdef" })).toBe("created");
    expect(await fieldsOf({ ...spec, channel: "slack", webhookUrl: "http://hooks.slack.com/services/x" })).toEqual(["webhookUrl: a Slack incoming webhook URL starts with https://"]);
    expect(await fieldsOf({ ...spec, channel: "email", emailTo: "a@example.com, not an address" })).toEqual(['emailTo: "not" is not an email address']);
    expect(await fieldsOf({ ...spec, channel: "email", emailTo: "a@example.com\r\nBcc: x@evil.example" })).toEqual([expect.stringMatching(/^emailTo: .* is not an email address$/)]);
    expect(await fieldsOf({ ...spec, channel: "email", emailTo: "a@example.com" }, false)).toEqual([expect.stringMatching(/^channel: this server sends no email/)]);
    expect(await fieldsOf({ ...spec, channel: "email", emailTo: ["a@example.com", "b@example.com"] })).toBe("created");
    expect(await fieldsOf({ ...spec, channel: "sms" })).toEqual(["channel: channel is one of webhook, slack, pagerduty, email"]);
    for (const a of await store.list("acme")) await store.delete("acme", a.id);
  });
});
