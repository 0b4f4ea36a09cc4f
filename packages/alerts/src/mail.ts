import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import nodemailer from "nodemailer";
import type { DeliveryTry, Logger, WebhookDelivery } from "@unmeltable/core";

/** Sends an alert's email; never throws (a failure is a delivery with `ok: false`). */
export type MailSender = (to: string[], message: { subject: string; text: string }, about: { tenant: string; alertId: string }) => Promise<WebhookDelivery>;

export interface MailerOptions {
  /** The sender address, e.g. `unmeltable <alerts@logs.example.com>` (UNMELTABLE_MAIL_FROM). */
  from: string;
  logger: Logger;
  attempts?: number;
  retryDelayMs?: number;
}

/**
 * Email through the SMTP server the operator configures (`--smtp-url smtp://user:pass@mail.example.com:587`,
 * or `smtps://…:465`; UNMELTABLE_SMTP_URL). nodemailer speaks SMTP, STARTTLS included; the server is the
 * operator's, so its answers (a 550, a refused login) are shown in the tenant's history as they are.
 */
export function smtpMailer(url: string, opts: MailerOptions): MailSender {
  const transport = nodemailer.createTransport(url, { from: opts.from });
  return mailSender((m) => transport.sendMail(m), opts);
}

/** Email through Amazon SES (v2 API) on AWS, from a verified sender identity (UNMELTABLE_MAIL_FROM). */
export function sesMailer(opts: MailerOptions & { client?: SESv2Client }): MailSender {
  const transport = nodemailer.createTransport({ SES: { sesClient: opts.client ?? new SESv2Client({}), SendEmailCommand } }, { from: opts.from });
  return mailSender((m) => transport.sendMail(m), opts);
}

/** The mailer the environment configures: SMTP (UNMELTABLE_SMTP_URL), SES (UNMELTABLE_MAIL=ses), or none. */
export function mailerFromEnv(env: NodeJS.ProcessEnv, logger: Logger): MailSender | undefined {
  const from = env.UNMELTABLE_MAIL_FROM;
  if (env.UNMELTABLE_SMTP_URL) return smtpMailer(env.UNMELTABLE_SMTP_URL, { from: from ?? "unmeltable <alerts@localhost>", logger });
  if (env.UNMELTABLE_MAIL === "ses" && from) return sesMailer({ from, logger });
  return undefined;
}

type Send = (message: { to: string[]; subject: string; text: string; headers: Record<string, string> }) => Promise<unknown>;

function mailSender(send: Send, opts: MailerOptions): MailSender {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  return async (to, message, about) => {
    const log = opts.logger.child({ tenant: about.tenant, alert: about.alertId, channel: "email" });
    const tries: DeliveryTry[] = [];
    let error = "not sent";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, retryDelayMs * 4 ** (attempt - 2)));
      const at = Date.now();
      try {
        await send({ to, subject: message.subject, text: message.text, headers: { "Auto-Submitted": "auto-generated" } });
        tries.push({ at, ok: true });
        return { ok: true, attempts: attempt, tries };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; message?: string };
        error = `could not send the email: ${e.responseCode ? `the mail server answered ${e.responseCode}` : (e.code ?? e.message ?? "unknown error")}`;
        tries.push({ at, ok: false, error });
        log.warn("alert email not sent", { attempt, error: e.message });
        // A permanent refusal (5xx: no such mailbox, not allowed) will not change on a retry.
        if (e.responseCode !== undefined && e.responseCode >= 500) break;
      }
    }
    return { ok: false, error, attempts: tries.length, tries };
  };
}
