import type { Tenant } from "../ports/tenants";
import type { SliceAdmin, SliceInfo } from "../ports/slice-admin";
import { isExpired, planSliceLength, SLICE_MS, sliceStart, type SliceLength } from "./slice-policy";

export interface LifecycleReport {
  dropped: { tenant: string; slice: string }[];
  resliced: { tenant: string; from: SliceLength; to: SliceLength; bytesPerDay: number }[];
  prepared: { tenant: string; at: number; length: SliceLength }[];
  /** Tenants whose run failed (the others were done all the same), with why. */
  failed: { tenant: string; error: string }[];
}

/**
 * The index lifecycle, run every hour (a timer on one machine, a scheduled Lambda on AWS):
 * 1. retention — whole slices that ended more than `retentionDays` ago are deleted;
 * 2. slice length — from the volume the tenant's slices grew by over the last day, the length that
 *    keeps a slice near `targetBytes` (a 100k events/s tenant gets hours, a 10 events/s one weeks);
 * 3. ahead of time — the next slice is created before its first event arrives.
 */
export async function runLifecycle(options: {
  admin: SliceAdmin;
  tenants: Tenant[];
  setSliceLength: (tenant: string, length: SliceLength) => Promise<void> | void;
  targetBytes: number;
  now?: number;
}): Promise<LifecycleReport> {
  const now = options.now ?? Date.now();
  const report: LifecycleReport = { dropped: [], resliced: [], prepared: [], failed: [] };
  // One tenant's failure (its index refused, its config write conflicted too often) must not stop the
  // retention and the next slices of the others.
  for (const tenant of options.tenants) {
    try {
      await lifecycleOf(tenant, options, now, report);
    } catch (err) {
      report.failed.push({ tenant: tenant.name, error: (err as Error).message });
    }
  }
  return report;
}

async function lifecycleOf(
  tenant: Tenant,
  options: { admin: SliceAdmin; setSliceLength: (tenant: string, length: SliceLength) => Promise<void> | void; targetBytes: number },
  now: number,
  report: LifecycleReport,
): Promise<void> {
  {
    const slices = await options.admin.slices(tenant.name);
    for (const s of slices) {
      if (isExpired(s.end, tenant.retentionDays, now)) {
        await options.admin.dropSlice(tenant.name, s.name);
        report.dropped.push({ tenant: tenant.name, slice: s.name });
      }
    }
    const bytesPerDay = observedBytesPerDay(slices.filter((s) => !isExpired(s.end, tenant.retentionDays, now)), now);
    let length = tenant.slice;
    if (bytesPerDay !== undefined) {
      const planned = planSliceLength({ bytesPerDay, targetBytes: options.targetBytes });
      if (planned !== tenant.slice) {
        await options.setSliceLength(tenant.name, planned);
        report.resliced.push({ tenant: tenant.name, from: tenant.slice, to: planned, bytesPerDay });
        length = planned;
      }
    }
    const next = sliceStart(now, length) + SLICE_MS[length];
    await options.admin.prepareSlice(tenant.name, next, length);
    report.prepared.push({ tenant: tenant.name, at: next, length });
  }
}

/**
 * Bytes per day from the slices that overlap the last 24 hours, each counted by the share of it that
 * falls in that window; undefined when the tenant has no recent data to judge by.
 */
export function observedBytesPerDay(slices: SliceInfo[], now: number): number | undefined {
  const since = now - 86_400_000;
  let bytes = 0;
  let seen = false;
  for (const s of slices) {
    if (s.end <= since || s.start >= now) continue;
    // A slice still being written grew over [start, now]; a finished one over its whole length.
    const grownOver = Math.min(s.end, now) - s.start;
    const inWindow = Math.min(s.end, now) - Math.max(s.start, since);
    if (grownOver <= 0) continue;
    bytes += (s.bytes * inWindow) / grownOver;
    seen = true;
  }
  return seen ? bytes : undefined;
}
