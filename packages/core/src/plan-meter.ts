import type { Plan } from "./ports/tenants";

/**
 * Decides, event by event, whether a tenant is within its plan (docs/plans.md). Nothing is refused
 * here: an event over the plan is only indexed on the lower-priority path (the tier's deferred topic).
 *
 * - Sustained rate: a token bucket per tenant filling at `eventsPerSecond` and holding a minute of it
 *   (the plan's rate is "averaged over a minute"), so a short burst within a minute's allowance stays
 *   in plan. Time is the events' receive time, not the time they are processed: a backlog after a stage
 *   was down (every tenant's events arriving at once) does not put a tenant over plan, only sending
 *   faster than its plan does.
 * - Daily volume: the raw bytes of the tenant's events received that UTC day; once past `bytesPerDay`,
 *   the rest of the day's events are over plan.
 *
 * Over/under is a state with hysteresis (it flips to over at the first event past the plan, back to
 * under once the bucket is half full again, or at the next UTC day for the daily volume), so that a
 * tenant hovering at its rate does not flap, and each change is reported once (`onChange`: the log
 * line and the over-plan gauge).
 *
 * State is this process's own (one machine: exact; each Lambda container: its share, see `shareOf`),
 * kept in memory: a restart starts every tenant with a full bucket and the day's count at zero, which
 * can only index more promptly, never lose anything.
 */
export interface PlanMeterOptions {
  planOf: (tenant: string) => Plan | undefined;
  /**
   * The fraction of the tenant's plan this meter allows (default 1): where several processes each see a
   * part of a tenant's events (the Lambda process function, one container per raw partition of the
   * tenant), each meters its share.
   */
  shareOf?: (tenant: string) => number;
  /** Seconds of the sustained rate a tenant may send at once (the bucket's size). Default 60. */
  burstSeconds?: number;
  onChange?: (change: PlanChange) => void;
}

export interface PlanChange {
  tenant: string;
  over: boolean;
  /** What put it over (or what it was over, when it comes back under). */
  reason: "rate" | "daily";
  plan: Plan;
  /** Events and bytes it sent this UTC day so far. */
  dayBytes: number;
}

interface TenantState {
  tokens: number;
  /** Receive time the bucket was last filled to (never goes back). */
  at: number;
  day: number;
  dayBytes: number;
  over: "rate" | "daily" | undefined;
}

const DAY_MS = 86_400_000;

export class PlanMeter {
  private readonly state = new Map<string, TenantState>();

  constructor(private readonly options: PlanMeterOptions) {}

  /** Whether this event (`bytes` of raw text, received at `receivedAt`) is within the tenant's plan. */
  admit(tenant: string, bytes: number, receivedAt: number): boolean {
    const plan = this.options.planOf(tenant);
    if (!plan) {
      if (this.state.has(tenant)) this.forget(tenant);
      return true;
    }
    const share = Math.min(1, Math.max(0.001, this.options.shareOf?.(tenant) ?? 1));
    const rate = plan.eventsPerSecond * share;
    const capacity = Math.max(1, rate * (this.options.burstSeconds ?? 60));
    const dayLimit = plan.bytesPerDay * share;
    const day = Math.floor(receivedAt / DAY_MS);
    let s = this.state.get(tenant);
    if (!s) this.state.set(tenant, (s = { tokens: capacity, at: receivedAt, day, dayBytes: 0, over: undefined }));
    if (receivedAt > s.at) {
      s.tokens = Math.min(capacity, s.tokens + ((receivedAt - s.at) / 1000) * rate);
      s.at = receivedAt;
    }
    s.tokens = Math.min(s.tokens, capacity); // the plan may have shrunk
    if (day > s.day) {
      s.day = day;
      s.dayBytes = 0;
    }
    // An event of a day already past (a late sender, a replay) counts against nothing daily.
    const today = day === s.day;
    const overDaily = today && s.dayBytes >= dayLimit;
    if (today) s.dayBytes += bytes;
    let admitted: boolean;
    if (overDaily) admitted = false;
    else if (s.tokens >= 1) {
      s.tokens -= 1;
      admitted = true;
    } else admitted = false;

    const before = s.over;
    if (!admitted) s.over = overDaily ? "daily" : (s.over ?? "rate");
    else if (s.over === "daily" && !overDaily) s.over = s.tokens >= capacity / 2 ? undefined : "rate";
    else if (s.over === "rate" && s.tokens >= capacity / 2) s.over = undefined;
    if (s.over !== before) {
      this.options.onChange?.({ tenant, over: s.over !== undefined, reason: (s.over ?? before)!, plan, dayBytes: s.dayBytes });
    }
    return admitted;
  }

  /**
   * Brings every metered tenant's state up to `now` (as if an in-plan moment passed): a tenant that
   * stopped sending comes back under plan without sending again. Call it every few seconds.
   */
  tick(now = Date.now()): void {
    for (const [tenant, s] of this.state) {
      const plan = this.options.planOf(tenant);
      if (!plan) {
        this.forget(tenant);
        continue;
      }
      if (!s.over) continue;
      const share = Math.min(1, Math.max(0.001, this.options.shareOf?.(tenant) ?? 1));
      const rate = plan.eventsPerSecond * share;
      const capacity = Math.max(1, rate * (this.options.burstSeconds ?? 60));
      if (now > s.at) {
        s.tokens = Math.min(capacity, s.tokens + ((now - s.at) / 1000) * rate);
        s.at = now;
      }
      const day = Math.floor(now / DAY_MS);
      if (day > s.day) {
        s.day = day;
        s.dayBytes = 0;
      }
      const overDaily = s.dayBytes >= plan.bytesPerDay * share;
      const before = s.over;
      if (overDaily) s.over = "daily";
      else if (s.tokens >= capacity / 2) s.over = undefined;
      else s.over = "rate";
      if (s.over !== before) this.options.onChange?.({ tenant, over: s.over !== undefined, reason: (s.over ?? before), plan, dayBytes: s.dayBytes });
    }
  }

  /** The tenants over their plan now. */
  overPlan(): string[] {
    return [...this.state].filter(([, s]) => s.over !== undefined).map(([t]) => t);
  }

  private forget(tenant: string): void {
    const s = this.state.get(tenant)!;
    this.state.delete(tenant);
    // The plan was removed: a tenant over it is now within (no plan is unlimited).
    if (s.over) this.options.onChange?.({ tenant, over: false, reason: s.over, plan: { bytesPerDay: Infinity, eventsPerSecond: Infinity }, dayBytes: s.dayBytes });
  }
}
