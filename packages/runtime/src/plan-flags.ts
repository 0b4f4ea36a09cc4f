import type { Plan } from "@unmeltable/core";

/**
 * The plan flags of `tenants add/set` and `aws tenants set`: the daily volume in GB (10^9 bytes, as
 * Loggly's plans count it) and the sustained rate. A plan is both numbers: a tenant without one needs
 * both flags; a tenant with one may change either. `--no-plan` removes it (unlimited).
 */
export interface PlanFlags {
  planGbPerDay?: number;
  planEventsPerSecond?: number;
  /** commander's `--no-plan`: false when given. */
  plan?: boolean;
}

export class PlanFlagError extends Error {
  override name = "PlanFlagError";
}

/** What the flags make of the current plan: a plan, null (remove it), or undefined (no change). */
export function planFromFlags(current: Plan | undefined, flags: PlanFlags): Plan | null | undefined {
  const gb = flags.planGbPerDay;
  const eps = flags.planEventsPerSecond;
  if (flags.plan === false) {
    if (gb !== undefined || eps !== undefined) throw new PlanFlagError("--no-plan removes the plan: give it without --plan-gb-per-day / --plan-events-per-second");
    return null;
  }
  if (gb === undefined && eps === undefined) return undefined;
  if (gb !== undefined && !(Number.isFinite(gb) && gb > 0 && gb <= 1e6)) throw new PlanFlagError("--plan-gb-per-day must be a number of GB above 0 (at most 1,000,000)");
  if (eps !== undefined && !(Number.isFinite(eps) && eps > 0 && eps <= 1e8)) throw new PlanFlagError("--plan-events-per-second must be above 0 (at most 100,000,000)");
  const bytesPerDay = gb !== undefined ? Math.max(1, Math.round(gb * 1e9)) : current?.bytesPerDay;
  const eventsPerSecond = eps ?? current?.eventsPerSecond;
  if (bytesPerDay === undefined || eventsPerSecond === undefined) {
    throw new PlanFlagError("the tenant has no plan yet: give both --plan-gb-per-day and --plan-events-per-second");
  }
  return { bytesPerDay, eventsPerSecond };
}

/** "2 GB/day, 500 events/s" or "no plan (unlimited)". */
export function describePlan(plan: Plan | undefined): string {
  if (!plan) return "no plan (unlimited)";
  return `plan ${+(plan.bytesPerDay / 1e9).toPrecision(6)} GB/day, ${plan.eventsPerSecond} events/s`;
}

/** Parses a decimal flag value (commander passes strings). */
export function decimalArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new PlanFlagError(`not a number: ${value}`);
  return n;
}
