import { CodedError, ERROR_CODES, lastDays, parseQuery, percentOfPlan, USAGE_DAYS, type IndexPort, type Tenant, type UsageAnswer, type UsageDay, type UsageSource } from "@unmeltable/core";

/**
 * GET /apiv2/usage?days=N — a tenant's account usage, as Loggly's account page shows it: per UTC day
 * (the last N, 1 to 30, default 30, oldest first) the events and bytes received, indexed and
 * dead-lettered, the tenant's plan, and today's use of it in percent.
 *
 *   {
 *     tenant, plan: { bytesPerDay, eventsPerSecond } | null,
 *     days: [{ day: "YYYY-MM-DD", events, bytes, indexed, indexedBytes, deadLettered, deadLetteredBytes }],
 *     today: { day, percentOfPlan, bytesPercent, eventsPerSecondPercent }
 *   }
 *
 * A count the deployment does not measure is null (on AWS: events, bytes and dead letters; see
 * `indexUsage`). `percentOfPlan` is the larger of today's bytes against the plan's bytes per day and
 * today's average event rate against its events per second; null without a plan (unlimited) or when
 * neither is measured.
 */
export class UsageParamError extends CodedError {
  override name = "UsageParamError";
  constructor(message: string) {
    super(ERROR_CODES.BAD_REQUEST, 400, message);
  }
}

export function usageDays(params: URLSearchParams): number {
  const text = params.get("days");
  if (text === null || text === "") return USAGE_DAYS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > USAGE_DAYS) throw new UsageParamError(`days must be an integer from 1 to ${USAGE_DAYS}, not ${JSON.stringify(text.slice(0, 32))}`);
  return n;
}

export async function usageOf(tenant: Tenant, source: UsageSource, dayCount: number, now: number): Promise<UsageAnswer> {
  const days = await source.days(tenant.name, lastDays(now, dayCount));
  const today = days[days.length - 1]!;
  const pct = percentOfPlan(tenant.plan, today, now);
  const measured = pct ? [pct.bytes, pct.events].filter((p): p is number => p !== null) : [];
  return {
    tenant: tenant.name,
    plan: tenant.plan ?? null,
    days,
    today: {
      day: today.day,
      percentOfPlan: measured.length > 0 ? Math.max(...measured) : null,
      bytesPercent: pct?.bytes ?? null,
      eventsPerSecondPercent: pct?.events ?? null,
    },
  };
}

const DAY_MS = 86_400_000;

/**
 * Usage read from the index on demand, for a deployment that keeps no usage table (AWS): the tenant's
 * events per UTC day by one histogram over its indices (on OpenSearch one date_histogram over the
 * tenant's 30 days, the reads the search function already makes). It counts what is searchable, by
 * event time; what was received and dead-lettered is not in the index, so those are null here (they
 * are in the per-tenant EMF lines: docs/deploy.md, "Per-tenant usage").
 */
export function indexUsage(index: IndexPort): UsageSource {
  return {
    async days(tenant: string, days: readonly string[]): Promise<UsageDay[]> {
      if (days.length === 0) return [];
      const from = Date.parse(`${days[0]}T00:00:00Z`);
      const until = Date.parse(`${days[days.length - 1]}T00:00:00Z`) + DAY_MS - 1;
      const buckets = await index.histogram({ tenant, query: parseQuery("*"), from, until }, DAY_MS);
      const counts = new Map(buckets.map((b) => [new Date(b.time).toISOString().slice(0, 10), b.count]));
      return days.map((day) => ({ day, events: null, bytes: null, indexed: counts.get(day) ?? 0, indexedBytes: null, deadLettered: null, deadLetteredBytes: null }));
    },
  };
}
