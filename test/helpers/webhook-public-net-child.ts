/**
 * Runs inside a network namespace of its own (see test/integration/webhook-oracle.test.ts) where
 * PUBLIC_ADDRESS, a public unicast address, is on the loopback interface: webhook receivers listen there,
 * so the real sender, under its default policy, delivers to a "public" destination that this test
 * controls. Prints what a tenant would read for each kind of failure, with and without the operator's
 * allow-list, and what the receivers got.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { webhookSender, WebhookPolicy } from "@unmeltable/alerts";
import { MemoryLogger, webhookPayload, type WebhookDelivery } from "@unmeltable/core";

const PUBLIC_ADDRESS = process.argv[2] ?? "11.0.0.1";
// Long enough that a loaded machine's loopback answers well within it: only the silent receiver meets it.
const TIMEOUT_MS = 5000;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, PUBLIC_ADDRESS, r));
  return (server.address() as AddressInfo).port;
}

/** Receivers on PUBLIC_ADDRESS, one of each kind, and how often each was asked. */
async function receivers() {
  const hits: Record<string, number> = {};
  const servers: net.Server[] = [];
  const held: net.Socket[] = [];
  const open = async (server: net.Server) => {
    servers.push(server);
    return listen(server);
  };
  const answering = (status: number) =>
    http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        hits[String(status)] = (hits[String(status)] ?? 0) + 1;
        res.writeHead(status).end();
      });
    });
  const ok = await open(answering(204));
  const methodNotAllowed = await open(answering(405));
  const serverError = await open(answering(500));
  // Takes the connection and never answers.
  const silent = await open(net.createServer((s) => void held.push(s.on("error", () => undefined))));
  // Nothing listens there: the connection is refused.
  const closedServer = net.createServer();
  const refused = await listen(closedServer);
  await new Promise<void>((r) => closedServer.close(() => r()));
  const base = `http://${PUBLIC_ADDRESS}`;
  return {
    hits,
    ok: `${base}:${ok}/hook`,
    failing: {
      answered405: `${base}:${methodNotAllowed}/hook`,
      answered500: `${base}:${serverError}/hook`,
      noAnswer: `${base}:${silent}/hook`,
      refused: `${base}:${refused}/hook`,
      unresolvable: `http://hooks.unmeltable.invalid:${refused}/hook`,
    } as Record<string, string>,
    close: () => {
      for (const s of held) s.destroy();
      for (const s of servers) s.close();
    },
  };
}

const payload = webhookPayload({ alertId: "a1", alertName: "n", tenant: "acme", firedAt: 0, query: "q", count: 1, comparison: "above", threshold: 0, windowMinutes: 1, from: 0, until: 0, link: "L" });
const log = new MemoryLogger();

async function deliverAll(policy: WebhookPolicy) {
  const r = await receivers();
  const sender = webhookSender({ policy, timeoutMs: TIMEOUT_MS, retryDelayMs: 10, attempts: 2, logger: log });
  // The times of the attempts differ by nature; what the tenant is told in each must not.
  const send = async (url: string): Promise<WebhookDelivery> => {
    const d = await sender(url, payload, { tenant: "acme", alertId: "a1" });
    return { ...d, tries: d.tries?.map((t) => ({ ...t, at: 0 })) };
  };
  const delivered = await send(r.ok);
  const failed = Object.fromEntries(await Promise.all(Object.entries(r.failing).map(async ([k, url]) => [k, await send(url)] as const))) as Record<string, WebhookDelivery>;
  r.close();
  return { delivered, failed, hits: r.hits };
}

// A public destination (the default policy), and the same destinations allow-listed by the operator.
const [asPublic, allowListed] = await Promise.all([deliverAll(new WebhookPolicy()), deliverAll(new WebhookPolicy({ allow: [PUBLIC_ADDRESS] }))]);

process.stdout.write(JSON.stringify({ asPublic, allowListed, log: log.lines, timeoutMs: TIMEOUT_MS }) + "\n");
process.exit(0);
