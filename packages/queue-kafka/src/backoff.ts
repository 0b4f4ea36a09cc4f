/** How long a consumer waits before retrying a batch whose handler failed `failures` times: 100 ms doubling to 30 s. */
export function backoff(failures: number): number {
  return Math.min(30_000, 100 * 2 ** Math.min(Math.max(0, failures - 1), 9));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
