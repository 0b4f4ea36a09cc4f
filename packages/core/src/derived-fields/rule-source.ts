import type { RecordStore } from "../saved-searches/records";
import type { DerivedRule, DerivedRuleSpec } from "./derived-rule";

/** How long a batch waits at most for a tenant's rules to be read (then it goes on with the last ones read). */
export const DEFAULT_READ_TIMEOUT_MS = 2_000;

/** Where the process stage gets the derived-field rules of the tenants in a batch. */
export interface DerivedRuleSource {
  /** Each tenant's enabled rules, in order (tenants without any may be left out). */
  rulesFor(tenants: readonly string[]): Promise<Record<string, DerivedRule[]>>;
}

/**
 * The rules of each tenant, read from their store and kept for `ttlMs`: on one machine the store is a
 * SQLite file and the API in the same process calls `changed` when a rule is saved, so new rules apply to
 * the next batch; on AWS the store is the configuration bucket, and a new rule reaches every process
 * function within `ttlMs` (the rule editor says so). A store that cannot be read — it fails, or does not
 * answer within `readTimeoutMs` — keeps the rules last read (or none): events are never held back for a rule.
 */
export class CachedRuleSource implements DerivedRuleSource {
  private readonly cache = new Map<string, { rules: DerivedRule[]; at: number }>();

  constructor(
    private readonly store: RecordStore<DerivedRuleSpec>,
    private readonly options: { ttlMs: number; readTimeoutMs?: number; onError?: (tenant: string, err: Error) => void; now?: () => number; maxTenants?: number },
  ) {}

  async rulesFor(tenants: readonly string[]): Promise<Record<string, DerivedRule[]>> {
    const now = this.options.now?.() ?? Date.now();
    const out: Record<string, DerivedRule[]> = {};
    await Promise.all(
      tenants.map(async (tenant) => {
        let entry = this.cache.get(tenant);
        if (!entry || now - entry.at >= this.options.ttlMs) {
          try {
            const rules = (await this.listWithin(tenant)).filter((r) => r.enabled);
            entry = { rules, at: now };
          } catch (err) {
            this.options.onError?.(tenant, err as Error);
            entry = { rules: entry?.rules ?? [], at: now };
          }
          if (this.cache.size >= (this.options.maxTenants ?? 100_000)) this.cache.clear();
          this.cache.set(tenant, entry);
        }
        if (entry.rules.length > 0) out[tenant] = entry.rules;
      }),
    );
    return out;
  }

  private listWithin(tenant: string): Promise<DerivedRule[]> {
    const ms = this.options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the rules were not read within ${ms} ms`)), ms);
    });
    return Promise.race([this.store.list(tenant), late]).finally(() => clearTimeout(timer));
  }

  /** A tenant's rules changed: read them again at the next batch. */
  changed(tenant: string): void {
    this.cache.delete(tenant);
  }
}
