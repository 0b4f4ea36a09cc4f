import path from "node:path";
import type { Queue } from "@unmeltable/core";
import { EmbeddedQueue, QueueInUseError } from "@unmeltable/queue-embedded";
import { CONTROL_SOCKET, redriveThroughServer } from "./control-socket";
import { redriveDeadLetters, scanDeadLetters, type DeadLetterFilter, type RedriveProgress, type RedriveReport } from "./dead-letters";
import { ProgressBar } from "./progress";
import { openQueue, parseBrokers } from "./queue-config";
import { TenantStore } from "./tenant-store";

export interface DeadLetterFlags extends DeadLetterFilter {
  dataDir: string;
  json?: boolean;
  queue: "embedded" | "kafka";
  brokers?: string;
}

const filterOf = (flags: DeadLetterFlags): DeadLetterFilter => ({ reason: flags.reason, tenant: flags.tenant, stage: flags.stage });

function openKafka(flags: DeadLetterFlags, dataDir: string): Promise<Queue> {
  return openQueue({ kind: "kafka", brokers: parseBrokers(flags.brokers ?? "") }, dataDir, () => undefined);
}

/** `unmeltable deadletters list`: the dead letters, what each is and whether it can be (or was) redriven. */
export async function deadLettersListCommand(flags: DeadLetterFlags): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  // Read-only: safe beside a running server.
  const queue = flags.queue === "kafka" ? await openKafka(flags, dataDir) : await EmbeddedQueue.open({ dir: path.join(dataDir, "queue"), readOnly: true });
  const store = new TenantStore(dataDir);
  const tenants = store.liveDirectory();
  let listed = 0;
  let redrivable = 0;
  let redriven = 0;
  try {
    if (!flags.json) process.stdout.write(`${"POSITION".padEnd(10)}  ${"TIME".padEnd(24)}  ${"STAGE".padEnd(13)}  ${"REASON".padEnd(17)}  ${"TENANT".padEnd(12)}  STATE\n`);
    for await (const page of scanDeadLetters(queue, tenants, filterOf(flags))) {
      for (const f of page) {
        listed++;
        const l = f.letter;
        const target = "skip" in f.plan ? undefined : f.plan;
        if (f.redriven) redriven++;
        else if (target) redrivable++;
        if (flags.json) {
          const line = {
            partition: f.partition,
            offset: f.offset,
            at: new Date(l.at).toISOString(),
            stage: l.stage,
            reason: l.reason,
            tenant: l.tenant ?? target?.tenant ?? null,
            error: l.error,
            source: l.source ?? null,
            redriven: f.redriven,
            redrive: target ? { topic: target.topic, tenant: target.tenant } : null,
            ...("skip" in f.plan ? { notRedrivable: f.plan.skip } : {}),
          };
          process.stdout.write(`${JSON.stringify(line)}\n`);
          continue;
        }
        const state = f.redriven ? "redriven" : target ? `redrivable to ${target.topic}` : `not redrivable: ${"skip" in f.plan ? f.plan.skip : ""}`;
        const tenant = l.tenant ?? (target ? `${target.tenant}*` : "-");
        process.stdout.write(`${`${f.partition}@${f.offset}`.padEnd(10)}  ${new Date(l.at).toISOString().padEnd(24)}  ${l.stage.padEnd(13)}  ${l.reason.padEnd(17)}  ${tenant.padEnd(12)}  ${state}\n`);
        process.stdout.write(`            ${oneLine(l.error, 110)}\n`);
      }
    }
    const summary = `${listed} dead letters: ${redrivable} redrivable, ${redriven} already redriven, ${listed - redrivable - redriven} not redrivable`;
    if (flags.json) process.stderr.write(`${summary}\n`);
    else process.stdout.write(`${summary}${listed > 0 ? " (* the tenant the message's token belongs to now)" : ""}\n`);
  } finally {
    tenants.stop();
    store.close();
    await queue.close();
  }
}

/**
 * `unmeltable deadletters redrive`: the matching redrivable dead letters back into the pipeline, once.
 * With the embedded queue held by a running server, the server does it (through its control socket).
 */
export async function deadLettersRedriveCommand(flags: DeadLetterFlags): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  const filter = filterOf(flags);
  const bar = new ProgressBar("redrive");
  const onProgress = (p: RedriveProgress) => bar.update(p.total === 0 ? 1 : p.scanned / p.total, `${p.scanned.toLocaleString()}/${p.total.toLocaleString()} dead letters read, ${p.redriven.toLocaleString()} redriven`);
  let report: RedriveReport;
  let queue: Queue | undefined;
  if (flags.queue === "kafka") queue = await openKafka(flags, dataDir);
  else {
    try {
      queue = await EmbeddedQueue.open({ dir: path.join(dataDir, "queue") });
    } catch (err) {
      if (!(err instanceof QueueInUseError)) throw err;
    }
  }
  if (queue) {
    const store = new TenantStore(dataDir);
    const tenants = store.liveDirectory();
    const producer = queue.producer();
    try {
      report = await redriveDeadLetters({ queue, producer, tenants, filter, onProgress });
    } finally {
      await producer.close();
      tenants.stop();
      store.close();
      await queue.close();
    }
  } else {
    report = await redriveThroughServer(path.join(dataDir, CONTROL_SOCKET), filter, onProgress);
  }
  bar.done(`${report.redriven.toLocaleString()} redriven, ${report.alreadyRedriven.toLocaleString()} already redriven before, ${Object.values(report.skipped).reduce((a, b) => a + b, 0).toLocaleString()} not redrivable (of ${report.matched.toLocaleString()} matching)`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const topics = Object.entries(report.topics).map(([t, n]) => `${t} ${n}`);
  process.stdout.write(`redriven: ${report.redriven}${topics.length > 0 ? ` (${topics.join(", ")})` : ""}\n`);
  process.stdout.write(`already redriven before: ${report.alreadyRedriven}\n`);
  for (const [why, n] of Object.entries(report.skipped)) process.stdout.write(`not redrivable: ${n} (${why})\n`);
}

function oneLine(text: string, max: number): string {
  const s = text.replace(/\s+/g, " ");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
