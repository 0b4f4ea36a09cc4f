import { emailMessage, pagerDutyEvent, slackMessage, webhookPayload, type Alert, type AlertFiring, type Notifier, type WebhookDelivery, type WebhookSender } from "@unmeltable/core";
import type { MailSender } from "./mail";

/** PagerDuty's Events API v2 (the EU service region's is https://events.eu.pagerduty.com/v2/enqueue). */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

export interface ChannelNotifierOptions {
  /** HTTP deliveries on the webhook rules (webhooks, Slack, PagerDuty). */
  webhooks: WebhookSender;
  /** Email, when the operator configured a mail server (SMTP, or SES on AWS). */
  mail?: MailSender;
  /** Where PagerDuty events go (`UNMELTABLE_PAGERDUTY_URL`; default PAGERDUTY_EVENTS_URL). */
  pagerDutyUrl?: string;
  /** The UI's address, PagerDuty's `client_url`. */
  publicUrl: () => string;
}

/**
 * Sends each notification where its alert says, in that channel's format (core's formatters). Slack and
 * PagerDuty go through the same SSRF-safe sender as webhooks: the Slack URL is the tenant's and checked
 * like any webhook; PagerDuty's endpoint is a public address (or what the operator allows).
 */
export function channelNotifier(o: ChannelNotifierOptions): Notifier {
  return async (alert: Alert, firing: Omit<AlertFiring, "delivery" | "id">): Promise<WebhookDelivery> => {
    const about = { tenant: alert.tenant, alertId: alert.id };
    switch (alert.channel ?? "webhook") {
      case "webhook":
        return o.webhooks(alert.webhookUrl, webhookPayload(firing), about);
      case "slack":
        return o.webhooks(alert.webhookUrl, slackMessage(firing), about);
      case "pagerduty":
        return o.webhooks(o.pagerDutyUrl ?? PAGERDUTY_EVENTS_URL, pagerDutyEvent(firing, alert.routingKey ?? "", o.publicUrl()), about);
      case "email":
        if (!o.mail) return { ok: false, error: "this server sends no email: its operator has not configured a mail server", attempts: 0, tries: [] };
        return o.mail(alert.emailTo ?? [], emailMessage(firing), about);
    }
  };
}
