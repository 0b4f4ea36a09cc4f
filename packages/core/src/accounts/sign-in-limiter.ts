/**
 * Failed sign-ins counted per address and per client, so that a password cannot be guessed by trying:
 * past `perAccount` failures for one address (or `perClient` from one client) in `windowMs`, sign-ins
 * are refused until the window has passed — with the right password too (else the refusal would tell).
 * Also bounds the sign-ins being hashed at once (each costs scrypt's 32 MiB and 70-90 ms of a core), so a
 * flood of them cannot take the memory or the CPU that ingest needs. In memory: per process, forgotten
 * on restart, at most `maxKeys` keys (the oldest go first).
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();
  private inFlight = 0;

  constructor(
    private readonly options: { perAccount?: number; perClient?: number; windowMs?: number; maxKeys?: number; maxConcurrent?: number; now?: () => number } = {},
  ) {}

  /** Seconds to wait before trying again, or 0 when a sign-in may go ahead. */
  retryAfter(account: string, client: string): number {
    const now = this.now();
    const window = this.options.windowMs ?? 15 * 60_000;
    const wait = (key: string, limit: number) => {
      const times = this.recent(key, now, window);
      return times.length >= limit ? Math.ceil((times[0]! + window - now) / 1000) : 0;
    };
    return Math.max(wait(`a:${account}`, this.options.perAccount ?? 10), wait(`c:${client}`, this.options.perClient ?? 50));
  }

  failed(account: string, client: string): void {
    const now = this.now();
    for (const key of [`a:${account}`, `c:${client}`]) {
      const times = this.failures.get(key) ?? [];
      times.push(now);
      this.failures.delete(key); // re-inserted: the map's order is the order of last failure
      this.failures.set(key, times.slice(-100));
    }
    const max = this.options.maxKeys ?? 10_000;
    while (this.failures.size > max) this.failures.delete(this.failures.keys().next().value!);
  }

  /**
   * A password check within the limits: not run while `account` or `client` is held back ("throttled",
   * with the seconds to wait) or while as many checks as allowed are hashing ("busy"); one that finds
   * nothing ("wrong") counts as a failure. The one sequence every sign-in goes through.
   */
  async check<T>(account: string, client: string, verify: () => Promise<T | undefined>): Promise<{ ok: T } | { refused: "throttled"; retryAfter: number } | { refused: "busy" | "wrong" }> {
    const wait = this.retryAfter(account, client);
    if (wait > 0) return { refused: "throttled", retryAfter: wait };
    if (!this.begin()) return { refused: "busy" };
    let found: T | undefined;
    try {
      found = await verify();
    } finally {
      this.end();
    }
    if (found === undefined) {
      this.failed(account, client);
      return { refused: "wrong" };
    }
    return { ok: found };
  }

  /** A slot to hash a password in, or false when as many sign-ins as allowed are being hashed. */
  begin(): boolean {
    if (this.inFlight >= (this.options.maxConcurrent ?? 4)) return false;
    this.inFlight++;
    return true;
  }

  end(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  private recent(key: string, now: number, window: number): number[] {
    const times = (this.failures.get(key) ?? []).filter((t) => t > now - window);
    if (times.length === 0) this.failures.delete(key);
    else this.failures.set(key, times);
    return times;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
