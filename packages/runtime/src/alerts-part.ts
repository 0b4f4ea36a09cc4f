import os from "node:os";
import {
  answerAlertsApi,
  answerDashboardsApi,
  answerDerivedFieldsApi,
  answerSavedSearchesApi,
  channelNotifier,
  RuleThread,
  smtpMailer,
  SqliteAlertStore,
  SqliteRecordStore,
  startAlertScheduler,
  webhookSender,
  WebhookPolicy,
  type RecordsRequest,
  type RecordsResponse,
} from "@unmeltable/alerts";
import { badRequest, searchLink, type DashboardSpec, type DerivedRuleSpec, type IndexPort, type Logger, type SavedSearchSpec, type Tenant, type TenantDirectory } from "@unmeltable/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AccountsDeps } from "@unmeltable/alerts";
import { decodable } from "./api-http";
import { sendError, sendJson, tenantOf, type HttpRoute } from "./http-server";

export interface AlertsPart {
  /** The alerts and saved searches APIs; must come before the search API's `/apiv2/` route. */
  routes: HttpRoute[];
  /** Invitations by email, where a mail server is configured (the accounts API sends them). */
  invitations?: AccountsDeps["invitations"];
  stop(): Promise<void>;
}

/** Checks run once a minute; `UNMELTABLE_ALERT_INTERVAL_MS` changes that (tests use a fraction of a second; 0 turns them off). */
export const DEFAULT_ALERT_INTERVAL_MS = 60_000;
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Alerts and the saved searches they are built on, on one machine: alert definitions and firings in
 * `<data-dir>/alerts.db`, saved searches in `<data-dir>/records.db`, a timer running the same
 * `checkAlerts` a scheduled Lambda runs on AWS, and the alerts API. Webhook links point at
 * `UNMELTABLE_PUBLIC_URL` (default: this server's HTTP address). Webhooks go where `webhooks` allows
 * (public addresses, plus the operator's `--webhook-allow`), checked when saved and at each delivery.
 */
/**
 * The UI's address as users reach it, for the links the server hands out (alerts, invitations, the single
 * sign-on's redirect): `--public-url` (UNMELTABLE_PUBLIC_URL), else this machine's name and HTTP port.
 */
export function publicUrlOf(http: { host: string; port: number | undefined }): string {
  if (process.env.UNMELTABLE_PUBLIC_URL) return process.env.UNMELTABLE_PUBLIC_URL;
  const { host, port } = http;
  const name = host === "0.0.0.0" || host === "::" || host === "" ? os.hostname() : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port ?? 8080}`;
}

export function startAlerts(options: {
  dataDir: string;
  index: IndexPort;
  tenants: TenantDirectory;
  /** The address the HTTP server listens on, known once it listens. */
  httpAddress: () => { host: string; port: number | undefined };
  logger: Logger;
  intervalMs?: number;
  webhooks?: WebhookPolicy;
  /** Alert emails through this SMTP server; without it, email alerts cannot be saved. */
  mail?: { smtpUrl: string; from: string };
  pagerDutyUrl?: string;
  /** Derived-field rules: their store and who is told of a change (the process stage's rule cache). */
  derived?: { rules: SqliteRecordStore<DerivedRuleSpec>; changed: (tenant: string) => void };
}): AlertsPart {
  const store = new SqliteAlertStore(options.dataDir);
  const searches = new SqliteRecordStore<SavedSearchSpec>(options.dataDir, "searches");
  const dashboards = new SqliteRecordStore<DashboardSpec>(options.dataDir, "dashboards");
  const webhooks = options.webhooks ?? WebhookPolicy.fromEnv();
  const logger = options.logger;
  logger.info(`alerts: ${webhooks.describe()}; email ${options.mail ? `through ${redactedUrl(options.mail.smtpUrl)} from ${options.mail.from}` : "off (--smtp-url)"}`);
  const mail = options.mail ? smtpMailer(options.mail.smtpUrl, { from: options.mail.from, logger }) : undefined;
  const intervalMs = options.intervalMs ?? intervalFromEnv();
  const publicUrl = () => publicUrlOf(options.httpAddress());
  // 0 turns the checker off here (the API stays): when several processes share the work, one checks.
  const scheduler = intervalMs === 0 ? undefined : startAlertScheduler({
    store,
    searches,
    index: options.index,
    // A failed delivery, in detail (the tenant's firing history says only that it failed).
    notify: channelNotifier({ webhooks: webhookSender({ policy: webhooks, logger }), mail, pagerDutyUrl: options.pagerDutyUrl, publicUrl }),
    linkFor: (query, from, until) => searchLink(publicUrl(), query, from, until),
    intervalMs,
    logger,
  });
  const handlerOf = (answer: (req: RecordsRequest, tenant: Tenant) => Promise<RecordsResponse>) => async (req: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(req.raw.url ?? "/", "http://localhost");
    // The APIs decode ids from the path; refuse what cannot be decoded before they try.
    if (!decodable(url.pathname)) return sendError(reply, badRequest("malformed URL: the path has an invalid percent-escape"));
    const body = typeof req.body === "string" ? req.body : undefined;
    const response = await answer({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers as Record<string, string | undefined>, body }, tenantOf(req));
    return sendJson(reply, response.status, response.body, response.headers);
  };
  const alertsApi = handlerOf((req, tenant) => answerAlertsApi(req, tenant, { store, searches, tenants: options.tenants, webhooks, email: mail !== undefined }));
  const searchesApi = handlerOf((req, tenant) => answerSavedSearchesApi(req, tenant, { searches, alerts: store, tenants: options.tenants }));
  const dashboardsApi = handlerOf((req, tenant) => answerDashboardsApi(req, tenant, { dashboards }));
  // Without the process stage's rule cache (tests of the APIs alone), the rules are kept all the same.
  const ownRules = options.derived ? undefined : new SqliteRecordStore<DerivedRuleSpec>(options.dataDir, "derived");
  const derived = options.derived ?? { rules: ownRules!, changed: () => undefined };
  // Patterns are compiled and previews run on a thread of their own: never on the thread that accepts syslog.
  const ruleWork = new RuleThread();
  const derivedApi = handlerOf((req, tenant) => answerDerivedFieldsApi(req, tenant, { rules: derived.rules, index: options.index, changed: derived.changed, work: ruleWork }));
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
  // Callers are authenticated before their body is read; a body over the limit is answered 413 before it is read.
  const route = (url: string, handler: ReturnType<typeof handlerOf>): HttpRoute => ({ url, methods, tenants: options.tenants, body: { text: MAX_BODY_BYTES }, handler });
  return {
    routes: [
      route("/apiv2/alerts", alertsApi),
      route("/apiv2/alerts/*", alertsApi),
      route("/apiv2/savedsearches", searchesApi),
      route("/apiv2/savedsearches/*", searchesApi),
      route("/apiv2/dashboards", dashboardsApi),
      route("/apiv2/dashboards/*", dashboardsApi),
      route("/apiv2/derivedfields", derivedApi),
      route("/apiv2/derivedfields/*", derivedApi),
    ],
    // Invitations go out by the alerts' mail server, linking to the same address as the alerts' links.
    invitations: mail ? { mail, publicUrl } : undefined,
    stop: async () => {
      await scheduler?.stop();
      store.close();
      searches.close();
      dashboards.close();
      ownRules?.close();
      await ruleWork.close();
    },
  };
}

/** An SMTP URL without its password, for the log. */
function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}

function intervalFromEnv(): number {
  const text = process.env.UNMELTABLE_ALERT_INTERVAL_MS;
  const n = text ? Number(text) : NaN;
  return Number.isInteger(n) && (n === 0 || n >= 100) ? n : DEFAULT_ALERT_INTERVAL_MS;
}
