/**
 * What each channel receives for a firing: pure formatting, so the local checker and the scheduled Lambda
 * send the same bytes. The webhook's JSON is `webhookPayload` (./alert.ts).
 */
import { describeCondition, type AlertFiring } from "./alert";

type Firing = Omit<AlertFiring, "delivery" | "id">;

const events = (n: number) => `${n.toLocaleString("en-US")} event${n === 1 ? "" : "s"}`;

/** One line: `Order errors: 12 events in the last 5 minutes (alert: more than 10 events in 5 minutes)`. */
export function firingSummary(f: Firing): string {
  const condition = describeCondition(f);
  if (f.kind === "resolved") return `Resolved: ${f.alertName}: ${events(f.count)} in the last ${f.windowMinutes} minute${f.windowMinutes === 1 ? "" : "s"} (alert: ${condition})`;
  return `${f.alertName}: ${events(f.count)} in the last ${f.windowMinutes} minute${f.windowMinutes === 1 ? "" : "s"} (alert: ${condition})`;
}

/** Slack's `<url|text>` and mrkdwn treat `&`, `<` and `>` specially: escaped as Slack documents. */
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A Slack incoming webhook's message: `text` (the notification and the fallback Slack shows where blocks
 * are not rendered) and blocks with the query and a button-free link to the search.
 */
export function slackMessage(f: Firing): { text: string; blocks: unknown[] } {
  const icon = f.kind === "resolved" ? ":white_check_mark:" : ":rotating_light:";
  const summary = slackEscape(firingSummary(f));
  return {
    text: `${icon} ${summary}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `${icon} *${summary}*` } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Query*\n\`${slackEscape(f.query || "*").slice(0, 1900)}\`` },
          { type: "mrkdwn", text: `*Tenant*\n${slackEscape(f.tenant)}` },
        ],
      },
      { type: "context", elements: [{ type: "mrkdwn", text: `<${f.link}|Open the search> · ${new Date(f.firedAt).toISOString()}` }] },
    ],
  };
}

/** The dedup key that ties an alert's trigger and resolve events to one PagerDuty alert. */
export function pagerDutyDedupKey(f: Pick<Firing, "tenant" | "alertId">): string {
  return `unmeltable/${f.tenant}/${f.alertId}`.slice(0, 255);
}

/** A PagerDuty Events API v2 event (POST https://events.pagerduty.com/v2/enqueue). */
export function pagerDutyEvent(f: Firing, routingKey: string, clientUrl: string) {
  const base = { routing_key: routingKey, dedup_key: pagerDutyDedupKey(f) };
  if (f.kind === "resolved") return { ...base, event_action: "resolve" as const };
  return {
    ...base,
    event_action: "trigger" as const,
    payload: {
      summary: firingSummary(f).slice(0, 1024),
      source: `unmeltable/${f.tenant}`,
      severity: "error" as const,
      timestamp: new Date(f.firedAt).toISOString(),
      component: f.alertName.slice(0, 255),
      group: f.tenant,
      class: "log alert",
      custom_details: {
        query: f.query,
        count: f.count,
        threshold: { comparison: f.comparison, value: f.threshold },
        window: { minutes: f.windowMinutes, from: new Date(f.from).toISOString(), until: new Date(f.until).toISOString() },
      },
    },
    client: "unmeltable",
    client_url: clientUrl,
    links: [{ href: f.link, text: "Open the search" }],
  };
}

/** An email's subject and plain-text body. */
export function emailMessage(f: Firing): { subject: string; text: string } {
  const subject = `[unmeltable] ${firingSummary(f)}`.replace(/[\r\n]+/g, " ").slice(0, 250);
  const text = [
    firingSummary(f),
    "",
    `Query:   ${f.query || "*"}`,
    `Count:   ${events(f.count)} between ${new Date(f.from).toISOString()} and ${new Date(f.until).toISOString()}`,
    `Alert:   ${describeCondition(f)}`,
    `Tenant:  ${f.tenant}`,
    "",
    `Open the search: ${f.link}`,
    "",
    "-- ",
    "Sent by unmeltable. Change or disable this alert on the Alerts page.",
  ].join("\n");
  return { subject, text };
}
