/**
 * Alerts: a saved search with a threshold, checked on a schedule, firing a webhook.
 *
 *   "count of `query` above N (or below N) over the last M minutes" → POST webhookUrl
 *
 * This file holds the pure parts — validation, the condition, when to notify, the webhook payload and
 * the link into the UI — so that the local timer and a scheduled Lambda run exactly the same rules.
 */
import { nameProblem, queryProblem } from "../validation";
import { RECORD_ID } from "../saved-searches/records";

export type AlertComparison = "above" | "below";

/**
 * Where an alert's notifications go: a JSON webhook, a Slack incoming webhook (Slack's message format),
 * PagerDuty's Events API v2 (an incident opened, and resolved when the condition clears), or email
 * (through the SMTP server the operator configures; SES on AWS).
 */
export const ALERT_CHANNELS = ["webhook", "slack", "pagerduty", "email"] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

/** What a user defines. */
export interface AlertSpec {
  name: string;
  /** Loggly query syntax, as typed in the search box. */
  query: string;
  /** `above`: fires when count > threshold; `below`: fires when count < threshold. */
  comparison: AlertComparison;
  threshold: number;
  /** The count is taken over the last `windowMinutes` minutes. */
  windowMinutes: number;
  /** The destination of `webhook` and `slack` notifications ("" for the other channels). */
  webhookUrl: string;
  enabled: boolean;
  /** Where notifications go; absent on alerts made before there were channels: `webhook`. */
  channel?: AlertChannel;
  /** PagerDuty: the integration's routing key (Events API v2). */
  routingKey?: string;
  /** Email: the recipients. */
  emailTo?: string[];
  /**
   * Whether to notify, too, when the condition clears after a notification ("resolved"; PagerDuty resolves
   * its incident). New alerts do unless told not to; alerts made before this existed do not.
   */
  notifyResolved?: boolean;
  /**
   * The saved search the alert is built on: the checker counts that search's current query (`query` keeps
   * a copy, shown when the saved search is gone). Absent: the alert has its own query.
   */
  savedSearchId?: string;
}

/** What the checker remembers between runs. */
export interface AlertState {
  lastCheckedAt?: number;
  lastCount?: number;
  /** Why the last check could not count (a query the index refused, an index error). */
  lastError?: string;
  /** Whether the condition held at the last check. */
  triggered: boolean;
  lastFiredAt?: number;
  /** When the last "resolved" notification went out (one per notified trigger). */
  lastResolvedAt?: number;
}

export interface Alert extends AlertSpec {
  id: string;
  tenant: string;
  createdAt: number;
  updatedAt: number;
  state: AlertState;
}

/** The outcome of one delivery (a webhook, Slack, PagerDuty, an email), after its retries. */
export interface WebhookDelivery {
  ok: boolean;
  /** HTTP status, when the receiver answered. */
  status?: number;
  error?: string;
  attempts: number;
  /** Each attempt: when, and what came of it (as much as the tenant may know: see webhookSender). */
  tries?: DeliveryTry[];
}

export interface DeliveryTry {
  at: number;
  ok: boolean;
  status?: number;
  error?: string;
}

/** One notification: recorded in the alert's history whether or not the webhook accepted it. */
export interface AlertFiring {
  id: string;
  /** A notification that the condition holds, or that it cleared after one (absent on old records: triggered). */
  kind?: "triggered" | "resolved";
  /** Where it went (absent on old records: webhook). */
  channel?: AlertChannel;
  alertId: string;
  alertName: string;
  tenant: string;
  firedAt: number;
  query: string;
  count: number;
  comparison: AlertComparison;
  threshold: number;
  windowMinutes: number;
  /** The window counted, epoch ms. */
  from: number;
  until: number;
  link: string;
  delivery: WebhookDelivery;
}

/** The JSON body POSTed to the webhook. */
export interface WebhookPayload {
  /** `triggered`: the condition holds; `resolved`: it cleared after a notification. */
  state: "triggered" | "resolved";
  alert: { id: string; name: string };
  tenant: string;
  query: string;
  count: number;
  threshold: { comparison: AlertComparison; value: number };
  window: { minutes: number; from: string; until: string };
  /** Opens the search over the window in the web UI. */
  link: string;
  firedAt: string;
}

export const ALERT_LIMITS = Object.freeze({
  nameLength: 100,
  queryLength: 4000,
  urlLength: 2000,
  emailRecipients: 10,
  maxThreshold: 1_000_000_000_000,
  /** One week: longer windows are better served by a daily report than by a per-minute check. */
  maxWindowMinutes: 7 * 24 * 60,
});

export interface AlertFieldError {
  field: keyof AlertSpec | "body";
  message: string;
  /** For `query`: where in the query the syntax error is. */
  position?: number;
}

export type AlertValidation = { ok: true; spec: AlertSpec } | { ok: false; errors: AlertFieldError[] };

/**
 * Checks a user's alert definition (a parsed JSON body). With `base`, the input is a partial update of
 * `base`: missing fields keep their value. Unknown fields are ignored.
 */
export function validateAlertSpec(input: unknown, base?: AlertSpec): AlertValidation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "body", message: "the body must be a JSON object" }] };
  }
  const o = input as Record<string, unknown>;
  const errors: AlertFieldError[] = [];
  const pick = <K extends keyof AlertSpec>(k: K): unknown => (k in o ? o[k] : base?.[k]);

  const name = pick("name");
  const badName = nameProblem(name, ALERT_LIMITS.nameLength);
  if (badName) errors.push({ field: "name", message: badName });

  const query = pick("query");
  const badQuery = query === undefined ? { message: "a query is required (use * for every event)" } : queryProblem(query, ALERT_LIMITS.queryLength);
  if (badQuery) errors.push({ field: "query", ...badQuery });

  const comparison = pick("comparison") ?? "above";
  if (comparison !== "above" && comparison !== "below") errors.push({ field: "comparison", message: 'comparison is "above" or "below"' });

  const threshold = toNumber(pick("threshold"));
  if (threshold === undefined || !Number.isInteger(threshold) || threshold < 0 || threshold > ALERT_LIMITS.maxThreshold) {
    errors.push({ field: "threshold", message: "the threshold is a whole number of events, 0 or more" });
  } else if (comparison === "below" && threshold === 0) {
    errors.push({ field: "threshold", message: "a count is never below 0: use a threshold of 1 or more" });
  }

  const windowMinutes = toNumber(pick("windowMinutes"));
  if (windowMinutes === undefined || !Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > ALERT_LIMITS.maxWindowMinutes) {
    errors.push({ field: "windowMinutes", message: `the window is a whole number of minutes from 1 to ${ALERT_LIMITS.maxWindowMinutes}` });
  }

  const channel = pick("channel") ?? "webhook";
  if (!(ALERT_CHANNELS as readonly unknown[]).includes(channel)) errors.push({ field: "channel", message: `channel is one of ${ALERT_CHANNELS.join(", ")}` });
  const usesUrl = channel === "webhook" || channel === "slack";
  const webhookUrl = usesUrl ? pick("webhookUrl") : "";
  const urlProblem = typeof webhookUrl === "string" ? (usesUrl ? webhookUrlProblem(webhookUrl, channel === "slack") : undefined) : "a webhook URL is required";
  if (urlProblem) errors.push({ field: "webhookUrl", message: urlProblem });
  const routingKey = channel === "pagerduty" ? pick("routingKey") : undefined;
  if (channel === "pagerduty" && (typeof routingKey !== "string" || !/^[A-Za-z0-9]{20,64}$/.test(routingKey.trim()))) {
    errors.push({ field: "routingKey", message: "a PagerDuty routing key is required: the 32-character integration key of an Events API v2 integration" });
  }
  const emailTo = channel === "email" ? recipients(pick("emailTo")) : undefined;
  if (typeof emailTo === "string") errors.push({ field: "emailTo", message: emailTo });
  const notifyResolved = pick("notifyResolved") ?? true;
  if (typeof notifyResolved !== "boolean") errors.push({ field: "notifyResolved", message: "notifyResolved is true or false" });

  const enabled = pick("enabled") ?? true;
  if (typeof enabled !== "boolean") errors.push({ field: "enabled", message: "enabled is true or false" });

  // null detaches the alert from its saved search (it keeps the query it had).
  const savedSearchId = pick("savedSearchId") ?? undefined;
  if (savedSearchId !== undefined && (typeof savedSearchId !== "string" || !RECORD_ID.test(savedSearchId))) {
    errors.push({ field: "savedSearchId", message: "savedSearchId is the id of one of your saved searches, or null" });
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    spec: {
      name: (name as string).trim(),
      query: query as string,
      comparison: comparison as AlertComparison,
      threshold: threshold!,
      windowMinutes: windowMinutes!,
      webhookUrl: (webhookUrl as string).trim(),
      enabled: enabled as boolean,
      channel: channel as AlertChannel,
      ...(channel === "pagerduty" ? { routingKey: (routingKey as string).trim() } : {}),
      ...(channel === "email" ? { emailTo: emailTo as string[] } : {}),
      notifyResolved: notifyResolved as boolean,
      ...(savedSearchId !== undefined ? { savedSearchId: savedSearchId as string } : {}),
    },
  };
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** The recipients of an email alert (a list or a comma-separated text), or why they are not. */
function recipients(v: unknown): string[] | string {
  const list = typeof v === "string" ? v.split(/[,;\s]+/) : Array.isArray(v) ? v : undefined;
  if (!list || !list.every((x) => typeof x === "string")) return "emailTo is a list of email addresses";
  const addresses = list.map((x) => x.trim()).filter((x) => x !== "");
  if (addresses.length === 0) return "at least one email address is required";
  if (addresses.length > ALERT_LIMITS.emailRecipients) return `at most ${ALERT_LIMITS.emailRecipients} recipients`;
  // Deliberately plain: a mailbox, an @, a domain with a dot; no display names, no line breaks (no header injection).
  const bad = addresses.find((a) => a.length > 254 || !/^[^\s@<>(),;:"\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(a));
  return bad === undefined ? addresses : `${JSON.stringify(bad.slice(0, 80))} is not an email address`;
}

function webhookUrlProblem(text: string, slack = false): string | undefined {
  const t = text.trim();
  if (t === "") return slack ? "a Slack incoming webhook URL is required (https://hooks.slack.com/services/…)" : "a webhook URL is required";
  if (t.length > ALERT_LIMITS.urlLength) return `a webhook URL has at most ${ALERT_LIMITS.urlLength} characters`;
  let url: InstanceType<typeof URL>; // not `URL`: under SST's platform types (tsconfig.infra.json, which reaches core through packages/sizing) the name is the constructor's
  try {
    url = new URL(t);
  } catch {
    return "the webhook URL is not a valid URL (e.g. https://hooks.example.com/unmeltable)";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "the webhook URL must start with http:// or https://";
  if (slack && url.protocol !== "https:") return "a Slack incoming webhook URL starts with https://";
  return undefined;
}

/** The time window a check counts over, ending now. */
export function alertWindow(alert: Pick<AlertSpec, "windowMinutes">, now: number): { from: number; until: number } {
  return { from: now - alert.windowMinutes * 60_000, until: now };
}

/** Whether `count` crosses the threshold. */
export function conditionHolds(alert: Pick<AlertSpec, "comparison" | "threshold">, count: number): boolean {
  return alert.comparison === "above" ? count > alert.threshold : count < alert.threshold;
}

/**
 * Whether to send a notification now. While the condition holds, an alert notifies at most once per
 * window: the events that made it fire are then out of the window, so one burst is never reported twice,
 * and a condition that keeps holding (an error rate that stays high, a source that stays silent) is
 * reported again once per window rather than every minute.
 */
export function shouldNotify(alert: Pick<Alert, "windowMinutes" | "state">, holds: boolean, now: number): boolean {
  if (!holds) return false;
  const last = alert.state.lastFiredAt;
  return last === undefined || now - last >= alert.windowMinutes * 60_000;
}

/**
 * Whether to send a "resolved" notification now: the condition held at the last check and no longer does,
 * and a notification went out for it that has not been followed by a "resolved" one yet (a condition that
 * flaps within a window, reported once, is resolved once).
 */
export function shouldResolve(alert: Pick<Alert, "notifyResolved" | "state">, holds: boolean): boolean {
  const { triggered, lastFiredAt, lastResolvedAt } = alert.state;
  if (holds || !triggered || alert.notifyResolved !== true || lastFiredAt === undefined) return false;
  return lastResolvedAt === undefined || lastResolvedAt < lastFiredAt;
}

/** The UI's search for a query over a range: `BASE/#/search?q=...&from=ISO&until=ISO`. */
export function searchLink(baseUrl: string, query: string, from: number, until: number): string {
  const params = new URLSearchParams({ q: query, from: new Date(from).toISOString(), until: new Date(until).toISOString() });
  return `${baseUrl.replace(/\/+$/, "")}/#/search?${params.toString()}`;
}

export function webhookPayload(firing: Omit<AlertFiring, "delivery" | "id">): WebhookPayload {
  return {
    state: firing.kind ?? "triggered",
    alert: { id: firing.alertId, name: firing.alertName },
    tenant: firing.tenant,
    query: firing.query,
    count: firing.count,
    threshold: { comparison: firing.comparison, value: firing.threshold },
    window: { minutes: firing.windowMinutes, from: new Date(firing.from).toISOString(), until: new Date(firing.until).toISOString() },
    link: firing.link,
    firedAt: new Date(firing.firedAt).toISOString(),
  };
}

/** A one-line description: `more than 10 events in 5 minutes`. */
export function describeCondition(alert: Pick<AlertSpec, "comparison" | "threshold" | "windowMinutes">): string {
  const events = (n: number) => `${n} event${n === 1 ? "" : "s"}`;
  const minutes = `${alert.windowMinutes} minute${alert.windowMinutes === 1 ? "" : "s"}`;
  return `${alert.comparison === "above" ? "more than" : "fewer than"} ${events(alert.threshold)} in ${minutes}`;
}
