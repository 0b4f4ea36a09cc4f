import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { TopicSpec } from "@unmeltable/core";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCE = path.join(ROOT, "test/kafka/mock-cluster.c");
const BINARY = path.join(ROOT, "test/.artifacts/mock-cluster");

/** Compiles the mock-cluster launcher (Debian librdkafka-dev) once; later calls reuse the binary. */
export function buildMockCluster(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(path.dirname(BINARY), { recursive: true });
  execFileSync("cc", ["-O2", "-Wall", "-o", BINARY, SOURCE, "-lrdkafka"], { stdio: "inherit" });
  return BINARY;
}

/**
 * A real Kafka-protocol cluster for a test: librdkafka's mock cluster in a child process, with its
 * control channel (create topics, take brokers down and up, inject errors).
 */
export interface MockCluster {
  brokers: string[];
  command(line: string): Promise<void>;
  createTopics(topics: TopicSpec[]): Promise<void>;
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
  let chain = Promise.resolve();
  const command = (line: string) => {
    const run = chain.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await nextLine();
      if (answer !== "ok") throw new Error(`mock cluster: ${line}: ${answer}`);
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
    stop: async () => {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
    },
  };
}
