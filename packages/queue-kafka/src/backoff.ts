import { doublingDelay } from "@unmeltable/core";

/** How long a consumer waits before retrying a batch whose handler failed `failures` times: 100 ms doubling to 30 s. */
export function backoff(failures: number): number {
  return doublingDelay(failures, 100, 30_000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
