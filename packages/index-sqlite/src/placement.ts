import { MAX_FUTURE_DRIFT_MS, type LogEvent } from "@unmeltable/core";

/**
 * Which time chooses an event's slice. Normally its own timestamp. But an event stating a time older than
 * its tenant's retention before it was received (a backfill, a device whose clock says 1970), or far
 * after it, would create a slice file for that time — one file per old slice, which the lifecycle job
 * deletes again within the hour, taking the event with it. Such an event is indexed at its receive time
 * instead, with the time it stated kept in `unmeltable.statedTimestamp` (searchable, shown with the
 * event): nothing accepted is lost, and no old slice is created.
 *
 * The rule reads only the event (its timestamp and receivedAt) and the tenant's retention, never the
 * clock, so a replay of the archive puts the event in the same slice as the first time (idempotent
 * writes are per slice file) — as long as the tenant's retention and slice length did not change.
 */
export function misplacedTimestamp(ev: LogEvent, retentionDays: number | undefined): boolean {
  const received = ev.receivedAt;
  if (typeof received !== "number" || !Number.isFinite(received)) return false;
  if (ev.timestamp > received + MAX_FUTURE_DRIFT_MS) return true;
  return retentionDays !== undefined && ev.timestamp < received - retentionDays * 86_400_000;
}

/** The event with its receive time as timestamp and the stated time in `unmeltable.statedTimestamp`. */
export function atReceiveTime(ev: LogEvent): LogEvent {
  const own = ev.event?.unmeltable;
  const unmeltable = own !== null && typeof own === "object" && !Array.isArray(own) ? own : {};
  return { ...ev, timestamp: ev.receivedAt, event: { ...ev.event, unmeltable: { ...unmeltable, statedTimestamp: ev.timestamp } } };
}
