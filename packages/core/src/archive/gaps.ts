import { ObjectNotFoundError, type ObjectStore } from "../ports/object-store";
import { archiveStatusKey, dayOf, manifestKey, type ArchiveStatus } from "./layout";

/**
 * Days whose archive is missing: of the `days` days before today (UTC), those without a manifest, and
 * those the archive has not got through yet (its status says it is behind the day's end). The day before
 * is counted only from `graceMs` after midnight (the archive runs every hour at :15). A scheduled run can
 * fail or "succeed" without running (a dev stub); this makes the gap visible so it is re-run.
 */
export async function missingArchiveDays(store: ObjectStore, options: { now?: number; days?: number; graceMs?: number } = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const today = Date.parse(`${dayOf(now)}T00:00:00Z`);
  const missing: string[] = [];
  const status = await readStatus(store);
  for (let i = 1; i <= (options.days ?? 7); i++) {
    if (i === 1 && now - today < (options.graceMs ?? 2 * 3_600_000)) continue;
    const day = dayOf(today - i * 86_400_000);
    const keys = await store.list(manifestKey(day));
    const end = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    if (!keys.includes(manifestKey(day)) || (status !== undefined && status.through < end)) missing.push(day);
  }
  return missing.sort();
}

async function readStatus(store: ObjectStore): Promise<ArchiveStatus | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(archiveStatusKey())) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ArchiveStatus;
  } catch (err) {
    // No status: archives of the former daily job, where a manifest means the day is done.
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}
