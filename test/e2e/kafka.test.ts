import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startMockCluster, type MockCluster } from "../helpers/kafka";
import { CLI, freePort, removeDir, ROOT, run, startProgram, tempDataDir, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * The pipeline on Kafka: collectors → Kafka (a real Kafka-protocol broker: librdkafka's mock cluster) →
 * stages → index, and the collectors' promise to always accept: brokers taken down in the middle of a
 * stream of acknowledged events, and a collector killed while it spools.
 */
const TOPICS = [
  { name: "raw", partitions: 4 },
  { name: "deadletter", partitions: 1 },
  { name: "processed.default", partitions: 4 },
  { name: "deferred.default", partitions: 4 },
];

async function cluster(): Promise<MockCluster> {
  const c = await startMockCluster(3);
  // The mock cluster has no CreateTopics API: its topics are made through its control channel, and the
  // program's topic setup step then finds and verifies them.
  await c.createTopics(TOPICS);
  return c;
}

const kafkaArgs = (c: MockCluster) => ["--queue", "kafka", "--brokers", c.brokers.join(","), "--produce-timeout-ms", "2000"];

async function count(program: Program, token: string, q: string): Promise<number> {
  const res = await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h`), { headers: { Authorization: `bearer ${token}` } });
  return ((await res.json()) as { count: number }).count;
}

/** Posts bulk requests of unique lines until stopped; returns the lines whose request was acknowledged. */
function streamBulk(url: () => string, marker: string) {
  const acked: string[] = [];
  let stop = false;
  let seq = 0;
  const one = async () => {
    while (!stop) {
      const lines = Array.from({ length: 10 }, () => `${marker} ${seq++}`);
      try {
        const res = await fetch(url(), { method: "POST", body: lines.join("\n") });
        if (res.status === 200) acked.push(...lines);
        else await new Promise((r) => setTimeout(r, 100));
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const senders = [one(), one()];
  return {
    acked,
    stop: async () => {
      stop = true;
      await Promise.all(senders);
    },
  };
}

describe("the pipeline on Kafka", () => {
  let c: MockCluster;
  let program: Program;
  let tokens: TenantTokens;

  beforeAll(async () => {
    c = await cluster();
    program = await startProgram({ args: kafkaArgs(c) });
    tokens = await tenantTokens(program.dataDir);
  });
  afterEach((ctx) => {
    // A program that died mid-test is the failure to explain: show what it said last.
    if (ctx.task.result?.state === "fail" && program.child.exitCode !== null) {
      process.stderr.write(`\n[the program exited with ${program.child.exitCode} (signal ${program.child.signalCode})]\n${program.output().split("\n").slice(-60).join("\n")}\n`);
    }
  });
  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(program.dataDir);
    await c.stop();
  });

  it("takes events from real senders through Kafka into the index", async () => {
    const marker = randomUUID().slice(0, 8);
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--octet-count", "--rfc5424", "--sd-id", `${tokens.ingestToken}@41058`, "--sd-param", 'tag="kafka"', `${marker} over tcp`]);
    const res = await fetch(program.url(`/bulk/${tokens.ingestToken}/tag/kafka`), { method: "POST", body: `${marker} one\n{"message":"${marker} two","level":"warn"}` });
    expect(res.status).toBe(200);
    await waitFor("3 events searchable", async () => (await count(program, tokens.apiToken, marker)) === 3, 30_000);
    expect(await count(program, tokens.apiToken, `${marker} AND json.level:warn`)).toBe(1);
    const metrics = await (await fetch(program.url("/metrics"))).text();
    expect(metrics).toMatch(/unmeltable_events_produced_total\{via="direct"\} \d+/);
    expect(metrics).toMatch(/unmeltable_consumer_lag\{group="process",topic="raw",partition="\d"\}/);
  });

  it("keeps acknowledging while every broker is down, and indexes each acknowledged event exactly once after", async () => {
    const marker = `down${randomUUID().slice(0, 8)}`;
    const stream = streamBulk(() => program.url(`/bulk/${tokens.ingestToken}/tag/outage`), marker);
    await waitFor("events acknowledged before the outage", async () => stream.acked.length >= 200, 30_000);
    for (const id of c.brokerIds) await c.command(`down ${id}`);
    const beforeOutage = stream.acked.length;
    await waitFor("events acknowledged during the outage (spooled)", async () => stream.acked.length >= beforeOutage + 300, 60_000);
    const health = (await (await fetch(program.url("/healthz"))).json()) as { spool?: { spooling: boolean } };
    expect(health.spool?.spooling).toBe(true);
    for (const id of c.brokerIds) await c.command(`up ${id}`);
    await new Promise((r) => setTimeout(r, 1000));
    await stream.stop();
    const acked = stream.acked;
    await waitFor("every acknowledged event indexed", async () => (await count(program, tokens.apiToken, marker)) >= acked.length, 180_000);
    expect(await count(program, tokens.apiToken, marker)).toBe(acked.length);
    // Exactly once, event by event: a sample of the acknowledged lines, each found once.
    for (const line of acked.filter((_, i) => i % 97 === 0)) expect(await count(program, tokens.apiToken, `"${line}"`)).toBe(1);
    const metrics = await (await fetch(program.url("/metrics"))).text();
    expect(Number(/unmeltable_events_spooled_total (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
  }, 360_000);
});

describe("a collector killed while it spools", () => {
  it("delivers everything it acknowledged once it is back", async () => {
    const c = await cluster();
    const dataDir = await tempDataDir();
    const httpPort = await freePort();
    const syslogPort = await freePort();
    // Stages (with the index and API) and the collector run as two programs, as on AWS.
    const stagesPort = await freePort();
    let collector = await startProgram({ command: "collector", dataDir, httpPort, syslogPort, args: kafkaArgs(c) });
    const tokens = await tenantTokens(dataDir);
    const stages = spawn(process.execPath, [CLI, "stages", "--data-dir", dataDir, "--host", "127.0.0.1", "--http-port", String(stagesPort), ...kafkaArgs(c)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stagesOut = "";
    stages.stdout!.on("data", (b: Buffer) => (stagesOut += b.toString()));
    stages.stderr!.on("data", (b: Buffer) => (stagesOut += b.toString()));
    const api: Program = { ...collector, url: (p: string) => `http://127.0.0.1:${stagesPort}${p}` };
    try {
      await waitFor("the stages' API", async () => (await fetch(api.url("/healthz")).catch(() => undefined))?.status === 200, 30_000);
      for (const id of c.brokerIds) await c.command(`down ${id}`);
      const marker = `spooled${randomUUID().slice(0, 8)}`;
      const stream = streamBulk(() => collector.url(`/bulk/${tokens.ingestToken}/tag/spool`), marker);
      await waitFor("events acknowledged into the spool", async () => stream.acked.length >= 300, 60_000);
      await collector.kill();
      await stream.stop();
      const acked = [...stream.acked];
      for (const id of c.brokerIds) await c.command(`up ${id}`);
      collector = await startProgram({ command: "collector", dataDir, httpPort, syslogPort, args: kafkaArgs(c) });
      try {
        await waitFor("every acknowledged event indexed", async () => (await count(api, tokens.apiToken, marker)) >= acked.length, 180_000);
      } catch (err) {
        // What the two programs said is what tells a lost event from a stuck stage.
        const tail = (s: string) => s.split("\n").slice(-40).join("\n");
        throw new Error(`${(err as Error).message}: ${await count(api, tokens.apiToken, marker)} of ${acked.length} indexed\n--- collector ---\n${tail(collector.output())}\n--- stages ---\n${tail(stagesOut)}`);
      }
      // Some requests may have been written but not answered when the collector died: those may be there too.
      const total = await count(api, tokens.apiToken, marker);
      expect(total).toBeGreaterThanOrEqual(acked.length);
      for (const line of acked.filter((_, i) => i % 53 === 0)) expect(await count(api, tokens.apiToken, `"${line}"`)).toBe(1);
    } finally {
      stages.kill("SIGKILL");
      await collector.kill();
      await removeDir(dataDir);
      await c.stop();
    }
  }, 360_000);
});
