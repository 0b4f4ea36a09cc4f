import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import type { TopicSpec } from "@unmeltable/core";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BUILD_SCRIPT = path.join(ROOT, "scripts/build-test-broker.mjs");
const BINARY = path.join(ROOT, "node_modules/.cache/unmeltable-test/mock-cluster");
let built = false;

/**
 * The test broker: librdkafka 2.15.1's mock cluster with our patch (scripts/build-test-broker.mjs, run by
 * npm test's set-up). Built here when the set-up did not run (a single `npx vitest run FILE`); the
 * script returns at once when the cached binary is current.
 */
export function buildMockCluster(): string {
  if (!built) {
    execFileSync(process.execPath, [BUILD_SCRIPT], { stdio: ["ignore", "inherit", "inherit"] });
    built = true;
  }
  return BINARY;
}

/**
 * A real Kafka-protocol cluster for a test: librdkafka's mock cluster in a child process, with its
 * control channel (create topics, take brokers down and up, inject errors).
 */
export interface MockCluster {
  brokers: string[];
  /** Sends a control command; resolves with what follows "ok" on the answer line. */
  command(line: string): Promise<string>;
  /** Creates topics through the control channel (tests' set-up; the adapters use CreateTopics). */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Starts counting the requests the brokers receive (again from zero). */
  trackRequests(): Promise<void>;
  /** Requests received since trackRequests(), by API key (e.g. 10 = FindCoordinator). */
  requests(): Promise<Map<number, number>>;
  /** Broker ids are 1..n. */
  brokerIds: number[];
  stop(): Promise<void>;
}

export async function startMockCluster(brokers = 3): Promise<MockCluster> {
  const child: ChildProcessWithoutNullStreams = spawn(buildMockCluster(), [String(brokers)], { stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffered = "";
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    let cut: number;
    while ((cut = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const nextLine = () => new Promise<string>((resolve) => (lines.length > 0 ? resolve(lines.shift()!) : waiters.push(resolve)));
  const first = await Promise.race([nextLine(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`mock cluster did not start: ${stderr}`)), 10_000))]);
  let chain: Promise<unknown> = Promise.resolve();
  const command = (line: string) => {
    const run = chain.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await nextLine();
      if (answer !== "ok" && !answer.startsWith("ok ")) throw new Error(`mock cluster: ${line}: ${answer}`);
      return answer.slice(3);
    });
    chain = run.catch(() => undefined);
    return run;
  };
  return {
    brokers: first.split(","),
    brokerIds: Array.from({ length: brokers }, (_, i) => i + 1),
    command,
    createTopics: async (topics) => {
      for (const t of topics) await command(`create ${t.name} ${t.partitions}`);
    },
    trackRequests: async () => {
      await command("track");
    },
    requests: async () => {
      const counts = (await command("requests")).split(" ").filter(Boolean);
      return new Map(counts.map((c) => c.split("=").map(Number) as [number, number]));
    },
    stop: async () => {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
    },
  };
}
