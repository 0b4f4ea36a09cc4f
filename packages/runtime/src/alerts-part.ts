import os from "node:os";
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleAlertsApi, ALERTS_PATH, SqliteAlertStore, startAlertScheduler, webhookSender, WebhookPolicy } from "@unmeltable/alerts";
import { searchLink, type IndexPort, type TenantDirectory } from "@unmeltable/core";
import { sendJson, type Route } from "./http-server";

export interface AlertsPart {
  /** The alerts API; must come before the search API's `/apiv2/` route. */
  routes: Route[];
  stop(): Promise<void>;
}

/** Checks run once a minute; `UNMELTABLE_ALERT_INTERVAL_MS` changes that (tests use a fraction of a second; 0 turns them off). */
export const DEFAULT_ALERT_INTERVAL_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Alerts on one machine: definitions and firings in `<data-dir>/alerts.db`, a timer running the same
 * `checkAlerts` a scheduled Lambda runs on AWS, and the alerts API. Webhook links point at
 * `UNMELTABLE_PUBLIC_URL` (default: this server's HTTP address). Webhooks go where `webhooks` allows
 * (public addresses, plus the operator's `--webhook-allow`), checked when saved and at each delivery.
 */
export function startAlerts(options: {
  dataDir: string;
  index: IndexPort;
  tenants: TenantDirectory;
  /** The address the HTTP server listens on, known once it listens. */
  httpAddress: () => { host: string; port: number | undefined };
  log: (line: string) => void;
  intervalMs?: number;
  webhooks?: WebhookPolicy;
}): AlertsPart {
  const store = new SqliteAlertStore(options.dataDir);
  const webhooks = options.webhooks ?? WebhookPolicy.fromEnv();
  options.log(`alerts: ${webhooks.describe()}`);
  const intervalMs = options.intervalMs ?? intervalFromEnv();
  const publicUrl = () => {
    if (process.env.UNMELTABLE_PUBLIC_URL) return process.env.UNMELTABLE_PUBLIC_URL;
    const { host, port } = options.httpAddress();
    const name = host === "0.0.0.0" || host === "::" || host === "" ? os.hostname() : host.includes(":") ? `[${host}]` : host;
    return `http://${name}:${port ?? 8080}`;
  };
  // 0 turns the checker off here (the API stays): when several processes share the work, one checks.
  const scheduler = intervalMs === 0 ? undefined : startAlertScheduler({
    store,
    index: options.index,
    send: webhookSender({ policy: webhooks, log: options.log }),
    linkFor: (query, from, until) => searchLink(publicUrl(), query, from, until),
    intervalMs,
    log: options.log,
  });
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      sendJson(res, 413, { response: "error", message: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      return;
    }
    const response = await handleAlertsApi(
      { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers as Record<string, string | undefined>, body },
      { store, tenants: options.tenants, webhooks },
    );
    sendJson(res, response.status, response.body, response.headers);
  };
  return {
    routes: [{ methods: ["GET", "POST", "PUT", "PATCH", "DELETE"], path: ALERTS_PATH, handler }],
    stop: async () => {
      await scheduler?.stop();
      store.close();
    },
  };
}

function intervalFromEnv(): number {
  const text = process.env.UNMELTABLE_ALERT_INTERVAL_MS;
  const n = text ? Number(text) : NaN;
  return Number.isInteger(n) && (n === 0 || n >= 100) ? n : DEFAULT_ALERT_INTERVAL_MS;
}

/** The body as text, or undefined when it is larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
