import path from "node:path";
import { noLogger, parseTime, type Queue, type TenantDirectory } from "@unmeltable/core";
import { loadTenantDirectory } from "@unmeltable/tenants-config";
import { EmbeddedQueue, QueueInUseError } from "@unmeltable/queue-embedded";
import { CONTROL_SOCKET, redriveThroughServer } from "./control-socket";
import { redriveDeadLetters, scanDeadLetters, type DeadLetterFilter, type RedriveProgress, type RedriveReport } from "./dead-letters";
import { ProgressBar } from "./progress";
import { openQueue, parseBrokers } from "./queue-config";
import { TenantStore } from "./tenant-store";

export interface DeadLetterFlags extends Omit<DeadLetterFilter, "from" | "until"> {
  dataDir: string;
  json?: boolean;
  queue: "embedded" | "kafka";
  brokers?: string;
  kafkaClient?: "js" | "native";
  /** A deployment's MSK cluster and how to reach it (as the collector's flags). */
  mskClusterArn?: string;
  awsRegion?: string;
  kafkaTls?: boolean;
  kafkaSasl?: "aws-msk-iam";
  /** A deployment's tenants (s3://bucket/tenants.json or a file) instead of the data dir's. */
  tenants?: string;
  /** When the letters were written: -2d, ISO-8601, epoch ms (as `search`). */
  from?: string;
  until?: string;
}

function filterOf(flags: DeadLetterFlags): DeadLetterFilter {
  const now = Date.now();
  return {
    reason: flags.reason,
    tenant: flags.tenant,
    stage: flags.stage,
    from: flags.from === undefined ? undefined : parseTime(flags.from, now, now),
    until: flags.until === undefined ? undefined : parseTime(flags.until, now, now),
  };
}

function openKafka(flags: DeadLetterFlags, dataDir: string): Promise<Queue> {
  if (!flags.brokers && !flags.mskClusterArn) throw new Error("--queue kafka needs --brokers HOST:PORT,... or --msk-cluster-arn");
  const iam = flags.kafkaSasl === "aws-msk-iam";
  if (iam && !flags.awsRegion) throw new Error("--kafka-sasl aws-msk-iam needs --aws-region (or AWS_REGION)");
  return openQueue(
    {
      kind: "kafka",
      brokers: parseBrokers(flags.brokers ?? ""),
      mskClusterArn: flags.mskClusterArn,
      region: flags.awsRegion,
      ssl: flags.kafkaTls || iam,
      sasl: iam ? { mechanism: "aws-msk-iam", region: flags.awsRegion! } : undefined,
      clientId: "unmeltable-deadletters",
      client: flags.kafkaClient,
    },
    dataDir,
    // The command's output is its own: the queue's notices are not shown.
    noLogger,
  );
}

/** The tenants to resolve letters against: a deployment's tenants config, or the data dir's table. */
async function openTenants(flags: DeadLetterFlags, dataDir: string): Promise<{ tenants: TenantDirectory; close: () => void }> {
  if (flags.tenants) {
    // The S3 client finds its region in the environment.
    if (flags.awsRegion) process.env.AWS_REGION ??= flags.awsRegion;
    return { tenants: await loadTenantDirectory(flags.tenants), close: () => undefined };
  }
  const store = new TenantStore(dataDir);
  const live = store.liveDirectory();
  return {
    tenants: live,
    close: () => {
      live.stop();
      store.close();
    },
  };
}

/** `unmeltable deadletters list`: the dead letters, what each is and whether it can be (or was) redriven. */
export async function deadLettersListCommand(flags: DeadLetterFlags): Promise<void> {
  const dataDir = path.resolve(flags.dataDir);
  // Read-only: safe beside a running server.
  const queue = flags.queue === "kafka" ? await openKafka(flags, dataDir) : await EmbeddedQueue.open({ dir: path.join(dataDir, "queue"), readOnly: true });
  const { tenants, close } = await openTenants(flags, dataDir);
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
            position: f.position,
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
        process.stdout.write(`${f.position.padEnd(10)}  ${new Date(l.at).toISOString().padEnd(24)}  ${l.stage.padEnd(13)}  ${l.reason.padEnd(17)}  ${tenant.padEnd(12)}  ${state}\n`);
        process.stdout.write(`            ${oneLine(l.error, 110)}\n`);
      }
    }
    const summary = `${listed} dead letters: ${redrivable} redrivable, ${redriven} already redriven, ${listed - redrivable - redriven} not redrivable`;
    if (flags.json) process.stderr.write(`${summary}\n`);
    else process.stdout.write(`${summary}${listed > 0 ? " (* the tenant the message's token belongs to now)" : ""}\n`);
  } finally {
    close();
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
    const { tenants, close } = await openTenants(flags, dataDir);
    const producer = queue.producer();
    try {
      report = await redriveDeadLetters({ queue, producer, tenants, filter, onProgress });
    } finally {
      await producer.close();
      close();
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
