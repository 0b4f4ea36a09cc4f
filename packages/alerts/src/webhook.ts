import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { DeliveryTry, Logger, WebhookDelivery, WebhookSender } from "@unmeltable/core";
import { WebhookPolicy, type ResolvedAddress } from "./destination";

export interface WebhookSenderOptions {
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  userAgent?: string;
  /** Where webhooks may go (default: public addresses plus UNMELTABLE_WEBHOOK_ALLOW). */
  policy?: WebhookPolicy;
  /** The server's log: why a delivery failed, in detail (warn lines with the tenant, alert, destination and attempt). */
  logger: Logger;
}

/** What a tenant reads about a failed delivery to a destination the operator did not allow-list. */
export const GENERIC_DELIVERY_FAILURE = "the webhook could not be delivered (the server's log says why)";

/**
 * POSTs the payload as JSON to the webhook, on the conditions of the webhook policy: the destination is
 * checked (after DNS resolution) before every attempt, and the connection goes to exactly the addresses
 * checked, so a second DNS answer cannot swap in an internal one. Redirects are not followed (a 3xx is
 * a failed delivery). A 2xx answer is a delivery; a failure is retried, `attempts` in all (default 3),
 * after `retryDelayMs` and then four times longer each time (1 s, 4 s): a receiver that restarts or sheds
 * load for a few seconds still gets the notification. Each attempt is in the delivery's `tries`.
 *
 * The tenant's firing history must not become an oracle about the network (refused, timed out,
 * unresolvable, or answered 405?): for a destination that is merely public, every failure reads the
 * same — one generic message, no status, and the same number of attempts — and the details go to the
 * server's log. For a destination the operator allow-listed (their own hooks), the tenant sees them.
 */
export function webhookSender(opts: WebhookSenderOptions): WebhookSender {
  // Three attempts of at most 8 s and the waits between them fit in a 55 s check with room to spare.
  const timeoutMs = opts.timeoutMs ?? 8_000;
  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const policy = opts.policy ?? WebhookPolicy.fromEnv();
  const userAgent = opts.userAgent ?? "unmeltable-alerts/0.1";
  return async (url: string, payload: object, about: { tenant: string; alertId: string }): Promise<WebhookDelivery> => {
    const body = JSON.stringify(payload);
    const log = opts.logger.child({ tenant: about.tenant, alert: about.alertId, destination: origin(url) });
    let detailed: WebhookDelivery = { ok: false, attempts: 0, error: "not sent" };
    const tries: DeliveryTry[] = [];
    let allowListed = false;
    let attempt = 0;
    while (attempt < attempts) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, retryDelayMs * 4 ** (attempt - 1)));
      attempt++;
      const at = Date.now();
      const destination = await policy.check(url, about.tenant);
      if (!destination.ok) {
        log.warn("webhook refused: its destination is not allowed", { attempt, detail: destination.detail });
        detailed = { ok: false, error: `the webhook's destination is not allowed: ${destination.detail}`, attempts: attempt };
        tries.push({ at, ok: false, error: detailed.error });
        continue;
      }
      allowListed = destination.allowListed;
      try {
        const status = await post(url, destination.addresses, body, { timeoutMs, userAgent });
        if (status >= 200 && status < 300) {
          tries.push({ at, ok: true, status });
          return { ok: true, status, attempts: attempt, tries: allowListed ? tries : tries.map(generic) };
        }
        detailed = { ok: false, status, error: `the webhook answered ${status}`, attempts: attempt };
        tries.push({ at, ok: false, status, error: detailed.error });
        log.warn("webhook answered with a failure", { attempt, status });
        // A client error will not go away by asking again (except 408 / 429) — but skipping the retry
        // would tell a tenant a 4xx from a refused connection, so only for allow-listed destinations.
        if (allowListed && status >= 400 && status < 500 && status !== 408 && status !== 429) break;
      } catch (err) {
        const reason = failureReason(err, timeoutMs);
        detailed = { ok: false, error: `could not reach the webhook: ${reason}`, attempts: attempt };
        tries.push({ at, ok: false, error: detailed.error });
        log.warn("webhook could not be reached", { attempt, reason });
      }
    }
    return allowListed ? { ...detailed, tries } : { ok: false, error: GENERIC_DELIVERY_FAILURE, attempts: attempt, tries: tries.map(generic) };
  };
}

/** An attempt as a tenant may see it when the destination is merely public: when, and whether it worked. */
function generic(t: DeliveryTry): DeliveryTry {
  return t.ok ? { at: t.at, ok: true, ...(t.status !== undefined ? { status: t.status } : {}) } : { at: t.at, ok: false, error: GENERIC_DELIVERY_FAILURE };
}

/** One POST, connected to `addresses` only; resolves to the answer's status without reading its body. */
function post(url: string, addresses: ResolvedAddress[], body: string, opts: { timeoutMs: number; userAgent: string }): Promise<number> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const client = url.startsWith("https:") ? https : http;
  return new Promise<number>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "POST",
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "User-Agent": opts.userAgent },
        // An IP literal is connected to as it is (it was checked); a name goes through `lookup`.
        lookup: pinned,
        agent: false,
        signal: AbortSignal.timeout(opts.timeoutMs),
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        // The body is not needed: close rather than read an answer of any size.
        res.destroy();
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function failureReason(err: unknown, timeoutMs: number): string {
  const e = err as NodeJS.ErrnoException;
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  return e.code ?? e.message;
}

/** scheme://host:port — a webhook's path and query often hold a secret (Slack's do): never logged. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
