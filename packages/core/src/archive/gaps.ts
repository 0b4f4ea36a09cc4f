import type { ObjectStore } from "../ports/object-store";
import { dayOf, manifestKey } from "./layout";

/**
 * Days whose archive is missing: of the `days` days before today (UTC), those without a manifest. The
 * day before is counted only from `graceMs` after midnight (the archive runs at 00:15 UTC). A scheduled
 * run can fail or "succeed" without running (a dev stub); this makes the gap visible so it is re-run.
 */
export async function missingArchiveDays(store: ObjectStore, options: { now?: number; days?: number; graceMs?: number } = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const today = Date.parse(`${dayOf(now)}T00:00:00Z`);
  const missing: string[] = [];
  for (let i = 1; i <= (options.days ?? 7); i++) {
    if (i === 1 && now - today < (options.graceMs ?? 2 * 3_600_000)) continue;
    const day = dayOf(today - i * 86_400_000);
    const keys = await store.list(manifestKey(day));
    if (!keys.includes(manifestKey(day))) missing.push(day);
  }
  return missing.sort();
}
