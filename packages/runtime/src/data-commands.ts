import path from "node:path";
import { CachedRuleSource, noLogger, parseTime, runLifecycle, type DerivedRuleSpec, type Queue } from "@unmeltable/core";
import { SqliteRecordStore } from "@unmeltable/alerts";
import { archiveDay, DirectoryStore, previousDay, replay, S3Store, type ArchiveStore } from "@unmeltable/archive";
import { EmbeddedIndex } from "@unmeltable/index-sqlite";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { createLogger, loggerOptionsFromEnv } from "./logger";
import { ProgressBar } from "./progress";
import { openQueue, parseBrokers } from "./queue-config";
import { TenantStore } from "./tenant-store";

/** Where archives go: an S3 bucket (--s3-bucket, optional --s3-prefix), else a directory. */
export interface StoreFlags {
  dataDir: string;
  dir?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  s3Endpoint?: string;
}

export function objectStore(flags: StoreFlags): ArchiveStore {
  if (flags.s3Bucket) return new S3Store(flags.s3Bucket, flags.s3Prefix ?? "", flags.s3Endpoint ? { endpoint: flags.s3Endpoint, forcePathStyle: true } : {});
  return new DirectoryStore(path.resolve(flags.dir ?? path.join(flags.dataDir, "archive")));
}

/**
 * `unmeltable archive --day D`: the raw topic from the archive's checkpoints to its end into the archive
 * (the same planner and worker as the scheduled runs, here in one process), and day D's manifest rebuilt.
 * Re-runs a day that was skipped, and archives late events of it; a run with nothing new only rebuilds.
 */
export async function archiveCommand(flags: StoreFlags & { day?: string; queue: string; brokers?: string }): Promise<void> {
  const day = flags.day ?? previousDay();
  const dataDir = path.resolve(flags.dataDir);
  // The embedded queue is read in read-only mode, so the archive runs beside a running server.
  const queue: Queue =
    flags.queue === "kafka"
      ? await openQueue({ kind: "kafka", brokers: parseBrokers(flags.brokers ?? "") }, dataDir, noLogger)
      : await EmbeddedQueue.open({ dir: path.join(dataDir, "queue"), readOnly: true });
  const store = objectStore(flags);
  const bar = new ProgressBar(`archive ${day}`);
  try {
    const manifest = await archiveDay({
      queue,
      store,
      day,
      // The total is not known up front (pieces end where their size bound falls): the bar creeps.
      onProgress: (p) => bar.update(p.pieces / (p.pieces + 1), `${p.pieces} pieces, ${p.events.toLocaleString()} events, ${(p.bytes / 1e6).toFixed(0)} MB read`),
      // Failures, lost records, where partitions start (info and above: each piece done is a debug line,
      // the bar shows those), each on a line of its own below the bar.
      logger: createLogger({ ...loggerOptionsFromEnv(), write: (line) => void process.stderr.write(`\n${line}`) }),
    });
    bar.done(`${day}: ${manifest.events.toLocaleString()} events in ${manifest.files.length} files to ${store.location} (manifest checksum ${manifest.checksum.slice(0, 12)}; this run: ${manifest.run.pieces.length} pieces, ${manifest.run.events.toLocaleString()} events)`);
  } finally {
    await queue.close();
  }
}

/**
 * `unmeltable replay --tenant T --from F --until U [--rederive]`: archived events back through process
 * and index, with the tenant's derived-field rules as they are now; `--rederive` stores the events that
 * are indexed already again in place, so that they get today's derived fields too.
 */
export async function replayCommand(flags: StoreFlags & { tenant: string; from: string; until: string; rederive?: boolean }): Promise<void> {
  const now = Date.now();
  const from = parseTime(flags.from, now, now - 86_400_000);
  const until = parseTime(flags.until, now, now);
  const dataDir = path.resolve(flags.dataDir);
  // The tenant's slice length and retention, as the index stage uses them: a replayed event must land in
  // the slice it went to the first time (the index stores an id once per slice file).
  const store = new TenantStore(dataDir);
  let tenants;
  try {
    tenants = store.list();
  } finally {
    store.close();
  }
  const index = new EmbeddedIndex({
    dir: path.join(dataDir, "index"),
    writer: "inline",
    slices: Object.fromEntries(tenants.map((t) => [t.name, t.slice])),
    retentionDays: Object.fromEntries(tenants.map((t) => [t.name, t.retentionDays])),
  });
  const rules = new SqliteRecordStore<DerivedRuleSpec>(dataDir, "derived");
  const bar = new ProgressBar(`replay ${flags.tenant}`);
  try {
    const result = await replay({
      store: objectStore(flags),
      index,
      tenant: flags.tenant,
      from,
      until,
      derived: new CachedRuleSource(rules, { ttlMs: Number.POSITIVE_INFINITY }),
      replace: flags.rederive ? (tenant, docs) => index.replace(tenant, docs) : undefined,
      onProgress: (p) => bar.update(p.files === 0 ? 1 : p.filesDone / p.files, `${p.filesDone}/${p.files} files, ${p.events.toLocaleString()} events`),
    });
    const stored = flags.rederive ? `${(result.indexed - result.replaced).toLocaleString()} indexed, ${result.replaced.toLocaleString()} stored again with today's derived fields` : `${result.indexed.toLocaleString()} indexed, ${result.existing.toLocaleString()} already there`;
    bar.done(`${result.events.toLocaleString()} events from ${result.files} files: ${stored}, ${result.rejected} refused`);
  } finally {
    await index.close();
    rules.close();
  }
}

/** `unmeltable lifecycle`: one run of the index lifecycle (retention, slice lengths, slices ahead). */
export async function lifecycleCommand(flags: { dataDir: string; targetBytes: number; json?: boolean }): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  const store = new TenantStore(dataDir);
  const index = new EmbeddedIndex({ dir: path.join(dataDir, "index"), writer: "inline" });
  try {
    const report = await runLifecycle({
      admin: index,
      tenants: store.list(),
      setSliceLength: (tenant, length) => void store.update(tenant, { slice: length }),
      targetBytes: flags.targetBytes,
    });
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const d of report.dropped) process.stdout.write(`dropped ${d.tenant}/${d.slice} (past retention)\n`);
      for (const r of report.resliced) process.stdout.write(`${r.tenant}: slices ${r.from} → ${r.to} (${Math.round(r.bytesPerDay / 1e6)} MB/day)\n`);
      process.stdout.write(`prepared the next slice of ${report.prepared.length} tenants\n`);
      for (const f of report.failed) process.stdout.write(`failed for ${f.tenant} (the others were done): ${f.error}\n`);
    }
  } finally {
    await index.close();
    store.close();
  }
}
