import type { WebhookDelivery, WebhookPayload, WebhookSender } from "@unmeltable/core";

/**
 * POSTs the payload as JSON. A 2xx answer is a delivery; anything else (another status, a refused
 * connection, no answer within `timeoutMs`) is retried once after `retryDelayMs`, then reported as failed.
 */
export function webhookSender(opts: { timeoutMs?: number; attempts?: number; retryDelayMs?: number; userAgent?: string } = {}): WebhookSender {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const attempts = Math.max(1, opts.attempts ?? 2);
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  return async (url: string, payload: WebhookPayload): Promise<WebhookDelivery> => {
    let last: WebhookDelivery = { ok: false, attempts: 0, error: "not sent" };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, retryDelayMs));
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "User-Agent": opts.userAgent ?? "unmeltable-alerts/0.1" },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "manual",
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, attempts: attempt };
        last = { ok: false, status: res.status, error: `the webhook answered ${res.status}`, attempts: attempt };
        // A client error will not go away by asking again (except 408 / 429).
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) return last;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const reason = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
        last = { ok: false, error: `could not reach the webhook: ${reason}`, attempts: attempt };
      }
    }
    return last;
  };
}
