/** The config table, its validation, and the pure pieces of the stacks (no Pulumi engine needed). */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import dgram from "node:dgram";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFERRED, domainName, DRIVER_RESERVE_SECONDS, eventRecordBytes, indexSettingsFor, invocationLimit, NATIVE_KAFKA_CLIENT, PAYLOAD, PROCESS, processFor, recordsPerInvocation, resolveStage, RETENTION, STAGE_QUOTAS, STAGES, TIERS, tiersFor } from "../../stacks/config";
import { archiveLifecycle } from "../../stacks/archive";
import { collectorUserData, type UserDataInput } from "../../stacks/collector-user-data";
import { subnetCidr, regionId } from "../../stacks/network";
import { mappingArgs } from "../../stacks/pipeline";
import { topicPlan, serverProperties } from "../../stacks/queue";
import { functionRoles, planMappings, type SecurityRole } from "../../stacks/handlers/index-access";
import { artifactManifest, NATIVE_SOURCES, runtimeDependencies } from "../../scripts/sst-collector-artifact.mjs";
import type { NativeUdp } from "../../packages/collector/src/udp-native";

describe("stages", () => {
  afterEach(() => {
    delete process.env.UNMELTABLE_ESM_ENABLED;
    delete STAGES.broken;
    delete STAGE_QUOTAS.broken;
  });

  it("prod and staging are shared stages with their mappings on; any other name is a personal stage with them off", () => {
    expect(resolveStage("prod", {})).toMatchObject({ kind: "production", esmEnabled: true, errorHandling: "provisioned" });
    expect(resolveStage("staging", {})).toMatchObject({ kind: "shared", esmEnabled: true });
    expect(resolveStage("alice", {})).toMatchObject({ kind: "personal", stage: "alice", esmEnabled: false, errorHandling: "on-demand" });
  });

  it("a personal stage consumes only when asked to (UNMELTABLE_ESM_ENABLED=1)", () => {
    expect(resolveStage("alice", { UNMELTABLE_ESM_ENABLED: "1" }).esmEnabled).toBe(true);
    expect(resolveStage("alice", { UNMELTABLE_ESM_ENABLED: "true" }).esmEnabled).toBe(false);
    process.env.UNMELTABLE_ESM_ENABLED = "1";
    expect(resolveStage("bob").esmEnabled).toBe(true);
    expect(resolveStage("prod", { UNMELTABLE_ESM_ENABLED: "0" }).esmEnabled).toBe(true);
  });

  it.each([
    ["brokers that do not spread over the 3 AZs", { msk: { ...STAGES.prod.msk, brokers: 4 } }, /multiple of the 3 AZs/],
    ["an instance type without encryption at rest", { opensearchOverride: { instanceType: "t3.small.search" } }, /no encryption at rest/],
    ["data nodes that do not spread evenly", { opensearchOverride: { instanceCount: 4 } }, /do not spread evenly/],
    ["two home regions", { regions: [{ region: "eu-west-1", home: true, collectorsPerAz: 1 }, { region: "us-east-1", home: true, collectorsPerAz: 1 }] }, /exactly one region/],
    ["a collector region without a CIDR", { regions: [{ region: "eu-west-1", home: true, collectorsPerAz: 1 }, { region: "us-east-1", collectorsPerAz: 1 }] }, /needs a cidr/],
    ["a collector VPC on the home VPC's CIDR", { regions: [{ region: "eu-west-1", home: true, collectorsPerAz: 1 }, { region: "us-east-1", cidr: "10.0.0.0/16", collectorsPerAz: 1 }] }, /already used/],
  ])("rejects %s", (_what, change, message) => {
    STAGES.broken = { ...STAGES.prod, ...(change as Partial<typeof STAGES.prod>) };
    expect(() => resolveStage("broken", {})).toThrow(message);
  });

  it("the tiers table has a default tier and, on every stage, settings within Lambda's limits", () => {
    expect(TIERS.map((t) => t.name)).toContain("default");
    for (const stage of ["prod", "staging", "alice"]) {
      const cfg = resolveStage(stage, {});
      for (const e of [processFor(cfg).esm, ...tiersFor(cfg).map((t) => t.esm)]) {
        expect(e.batchSize).toBeGreaterThanOrEqual(1);
        expect(e.batchSize).toBeLessThanOrEqual(10_000);
        expect(e.pollers.min).toBeGreaterThanOrEqual(1);
        expect(e.pollers.max).toBeLessThanOrEqual(2000);
      }
    }
    expect(tiersFor(resolveStage("alice", {})).every((t) => t.opensearch.instanceCount === 1 && t.opensearch.dedicatedMaster === undefined)).toBe(true);
    // Production's domains are derived from its workload: zone-aware, with cluster managers, no burstable type.
    for (const t of tiersFor(resolveStage("prod", {}))) {
      expect(t.opensearch.instanceCount % 3).toBe(0);
      expect(t.opensearch.dedicatedMaster?.count).toBe(3);
      expect(t.opensearch.instanceType).toMatch(/^r7g\./);
    }
  });

  it("a stage's pins win over the derived sizes and are still validated", () => {
    STAGES.broken = { ...STAGES.prod, msk: { kafkaVersion: "3.8.x", brokers: 6, volumeGb: 1234 }, regions: [{ region: "eu-west-1", home: true, collectorsPerAz: 2 }] };
    // 3 NAT addresses and 6 collectors: past the default of 5 Elastic IPs, so the stage states its quota.
    expect(() => resolveStage("broken", {})).toThrow(/Elastic IPs.*allocates 9/);
    STAGE_QUOTAS.broken = { elasticIpsPerRegion: { "eu-west-1": 9 } };
    const cfg = resolveStage("broken", {});
    expect(cfg.msk).toMatchObject({ brokers: 6, volumeGb: 1234, brokerType: cfg.sizing.msk.brokerType });
    expect(cfg.regions[0]!.collectorsPerAz).toBe(2);
    STAGES.broken = { ...STAGES.prod, opensearchOverride: { instanceType: "r7g.4xlarge.search", instanceCount: 6 } };
    expect(tiersFor(resolveStage("broken", {})).map((t) => [t.opensearch.instanceType, t.opensearch.instanceCount])).toEqual([["r7g.4xlarge.search", 6], ["r7g.4xlarge.search", 6]]);
    delete STAGE_QUOTAS.broken;
  });

  it("names the native Kafka client at the version package-lock.json pins", () => {
    const lock = JSON.parse(readFileSync(path.resolve("package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    expect(NATIVE_KAFKA_CLIENT.version).toBe(lock.packages[`node_modules/${NATIVE_KAFKA_CLIENT.name}`]?.version);
  });
});

describe("batches and records", () => {
  it("the record sizes in the config are the ones the code writes", async () => {
    // By URL: the packages type-check with their own tsconfig, not with SST's types.
    const { PROCESSED_RECORD_BYTES, DEFERRED_RECORD_BYTES } = (await import(new URL("../../packages/core/src/stages/process-stage.ts", import.meta.url).href)) as { PROCESSED_RECORD_BYTES: number; DEFERRED_RECORD_BYTES: number };
    const { RAW_BATCH_BYTES } = (await import(new URL("../../packages/collector/src/batcher.ts", import.meta.url).href)) as { RAW_BATCH_BYTES: number };
    expect(PAYLOAD.rawRecordBytes).toBe(RAW_BATCH_BYTES);
    expect(PAYLOAD.processedRecordBytes).toBe(PROCESSED_RECORD_BYTES);
    expect(DEFERRED.recordBytes).toBe(DEFERRED_RECORD_BYTES);
  });

  it("the deferred path's batch is small but whole: 20 records of 128 KiB fit one invocation, a bulk stream of at most 2.5 MiB", () => {
    const limit = invocationLimit(DEFERRED.esm, DEFERRED.recordBytes);
    expect(limit.records).toBe(DEFERRED.esm.batchSize);
    expect(limit.bytes).toBe(20 * 128 * 1024);
    expect(DEFERRED.esm.batchSize * eventRecordBytes(DEFERRED.recordBytes)).toBeLessThanOrEqual(PAYLOAD.invocationBytes);
    // Below what would fit, on purpose (a full-size batch is refused for the other mappings).
    expect(DEFERRED.esm.batchSize).toBeLessThan(recordsPerInvocation(DEFERRED.recordBytes));
    expect(DEFERRED.esm.pollers).toEqual({ min: 1, max: 1 });
    expect(DEFERRED.partitions).toBe(1);
  });

  it("refuses a deferred path wider than one poller, or a deferred batch that does not fit an invocation", () => {
    STAGES.broken = STAGES.prod;
    const saved = { ...DEFERRED.esm, pollers: { ...DEFERRED.esm.pollers } };
    try {
      DEFERRED.esm.pollers.max = 2;
      expect(() => resolveStage("broken", {})).toThrow(/one partition and one poller/);
      DEFERRED.esm.pollers.max = 1;
      DEFERRED.esm.batchSize = 100;
      expect(() => resolveStage("broken", {})).toThrow(/\(deferred\): batch size 100 is above the \d+ full records/);
      DEFERRED.esm.batchSize = saved.batchSize;
      DEFERRED.esm.retryLimit = 5;
      expect(() => resolveStage("broken", {})).toThrow(/\(deferred\): 5 retries .* a long outage would dead-letter/);
    } finally {
      Object.assign(DEFERRED.esm, saved);
      delete STAGES.broken;
    }
    expect(() => resolveStage("prod", {})).not.toThrow();
  });

  it("an invocation holds what fits in 6 MB of event: full 900 KiB records, five of them, whatever the batch size", () => {
    // Base64 makes a 900 KiB record 1.2 MB of event.
    expect(eventRecordBytes(900 * 1024)).toBeGreaterThan(1.2e6);
    expect(recordsPerInvocation(900 * 1024)).toBe(5);
    const prod = resolveStage("prod", {});
    for (const [esm, bytes] of [[processFor(prod).esm, PAYLOAD.rawRecordBytes], ...tiersFor(prod).map((t) => [t.esm, PAYLOAD.processedRecordBytes] as const)] as const) {
      const limit = invocationLimit(esm, bytes);
      expect(limit.records).toBe(5);
      expect(limit.records * eventRecordBytes(bytes)).toBeLessThanOrEqual(PAYLOAD.invocationBytes);
    }
    // Small records: the batch size decides.
    expect(invocationLimit(processFor(prod).esm, 2_000).records).toBe(PROCESS.esm.batchSize);
  });

  it("refuses a batch size below what fits, and an event whose record could not be delivered at all", () => {
    STAGES.broken = STAGES.prod;
    const saved = { batch: PROCESS.esm.batchSize, event: PAYLOAD.maxEventBytes };
    try {
      PROCESS.esm.batchSize = 3;
      expect(() => resolveStage("broken", {})).toThrow(/batch size 3 is below the 5 full records/);
      PROCESS.esm.batchSize = saved.batch;
      PAYLOAD.maxEventBytes = 2 * 1024 * 1024;
      expect(() => resolveStage("broken", {})).toThrow(/would not fit in Lambda's 6 MB invocation/);
    } finally {
      PROCESS.esm.batchSize = saved.batch;
      PAYLOAD.maxEventBytes = saved.event;
      delete STAGES.broken;
    }
  });
});

describe("names", () => {
  it("OpenSearch domain names fit AWS's rules, long stage names included", () => {
    for (const stage of ["prod", "staging", "alice", "a-very-long-personal-stage-name-indeed"]) {
      for (const tier of TIERS) {
        const n = domainName("unmeltable", stage, tier.name);
        expect(n).toMatch(/^[a-z][a-z0-9-]{2,27}$/);
      }
    }
    expect(domainName("unmeltable", "prod", "default")).toBe("unmeltable-prod-default");
    expect(domainName("unmeltable", "a-very-long-personal-stage-name", "default")).not.toBe(domainName("unmeltable", "a-very-long-personal-stage-name-2", "default"));
  });

  it("collector subnets and region ids", () => {
    expect([0, 1, 2].map((i) => subnetCidr("10.1.0.0/16", i))).toEqual(["10.1.0.0/19", "10.1.32.0/19", "10.1.64.0/19"]);
    expect(regionId("ap-southeast-2")).toBe("ApSoutheast2");
  });
});

describe("queue", () => {
  it("plans raw, deadletter and one processed topic per tier with the tier's partitions, and one deferred topic per tier", () => {
    expect(topicPlan(resolveStage("prod", {}))).toEqual([
      { name: "raw", partitions: processFor(resolveStage("prod", {})).rawPartitions },
      { name: "deadletter", partitions: 1, config: { "retention.ms": String(14 * 86_400_000) } },
      { name: "deadletter.redriven", partitions: 1, config: { "retention.ms": "-1" } },
      ...tiersFor(resolveStage("prod", {})).map((t) => ({ name: `processed.${t.name}`, partitions: t.partitions })),
      // Each tier's deferred path: one partition (over-plan events, one invocation at a time).
      ...tiersFor(resolveStage("prod", {})).map((t) => ({ name: `deferred.${t.name}`, partitions: 1 })),
    ]);
  });

  it("brokers keep records for three days and refuse topic auto-creation", () => {
    const props = serverProperties(resolveStage("prod", {}));
    expect(props).toContain("log.retention.hours=72");
    expect(props).toContain("auto.create.topics.enable=false");
  });
});

describe("mappings", () => {
  const row = tiersFor(resolveStage("prod", {}))[0]!.esm;
  const base = { clusterArn: "arn:aws:kafka:r:a:cluster/c/u", functionArn: "arn:aws:lambda:r:a:function:f", topic: "processed.default", consumer: "index-default", esm: row };

  it("on-demand mode sets no provisioned-only controls", () => {
    const a = mappingArgs({ ...resolveStage("prod", {}), errorHandling: "on-demand" }, "unmeltable", base);
    for (const k of ["provisionedPollerConfig", "functionResponseTypes", "bisectBatchOnFunctionError", "maximumRetryAttempts", "destinationConfig"]) expect(a).not.toHaveProperty(k);
  });

  it("provisioned mappings retry a blocked batch for longer than the topics keep it, with no age limit", () => {
    const prod = resolveStage("prod", {});
    const rows = [[processFor(prod).esm, PROCESS.timeoutSeconds], ...tiersFor(prod).flatMap((t) => [[t.esm, t.indexFunction.timeoutSeconds], [DEFERRED.esm, t.indexFunction.timeoutSeconds]] as const)] as const;
    for (const [esm, timeout] of rows) {
      const a = mappingArgs(resolveStage("prod", {}), "unmeltable", { ...base, esm });
      expect(a.maximumRecordAgeInSeconds).toBe(-1);
      // Not -1: with an on-failure destination Lambda caps "infinite" at 10 retries.
      expect(a.maximumRetryAttempts).not.toBe(-1);
      // Each retry is an invocation the driver spent blocking (its timeout less its reserve).
      expect(((a.maximumRetryAttempts as number) * (timeout - DRIVER_RESERVE_SECONDS)) / 3600).toBeGreaterThan(RETENTION.pipelineHours);
    }
    STAGES.broken = STAGES.prod;
    const saved = PROCESS.esm.retryLimit;
    try {
      PROCESS.esm.retryLimit = 5;
      expect(() => resolveStage("broken", {})).toThrow(/a long outage would dead-letter/);
    } finally {
      PROCESS.esm.retryLimit = saved;
      delete STAGES.broken;
    }
  });

  it("the guard is the stage's esmEnabled", () => {
    expect(mappingArgs(resolveStage("alice", {}), "unmeltable", base).enabled).toBe(false);
    expect(mappingArgs(resolveStage("alice", { UNMELTABLE_ESM_ENABLED: "1" }), "unmeltable", base).enabled).toBe(true);
  });
});

describe("archive lifecycle", () => {
  it("moves to Standard-IA then Glacier Instant Retrieval, then expires; no move on or after expiry", () => {
    expect(archiveLifecycle(resolveStage("prod", {}))[0]).toEqual({
      id: "tiering",
      status: "Enabled",
      filter: {},
      transitions: [
        { days: 30, storageClass: "STANDARD_IA" },
        { days: 90, storageClass: "GLACIER_IR" },
      ],
      expiration: { days: 400 },
    });
    expect(archiveLifecycle({ ...resolveStage("prod", {}), archive: { infrequentAccessAfterDays: 30, glacierAfterDays: 90, expireAfterDays: 60 } })[0]).toHaveProperty("transitions", [
      { days: 30, storageClass: "STANDARD_IA" },
    ]);
  });
});

const input: UserDataInput = {
  nodeVersion: "20.20.2",
  artifact: { kind: "s3", bucket: "artifacts", key: "collector/x.tgz" },
  homeRegion: "eu-west-1",
  clusterArn: "arn:aws:kafka:eu-west-1:123456789012:cluster/unmeltable-prod/uuid",
  tenantsUrl: "s3://config/tenants.json",
  tls: { certParameter: "/unmeltable/prod/tls/cert", keyParameter: "/unmeltable/prod/tls/key" },
  spoolDevice: "/dev/sdf",
  ports: { syslog: 514, tls: 6514, https: 443 },
  kafkaClient: "native",
};

describe("collector user data", () => {

  it.each([
    ["an S3 artifact", input],
    ["an S3 artifact and the pure-JS client", { ...input, kafkaClient: "js" as const }],
    ["a git checkout", { ...input, artifact: { kind: "git" as const, url: "https://example.com/unmeltable.git", ref: "v0.1.0" } }],
  ])("is valid bash with %s", (_what, i) => {
    const dir = mkdtempSync(path.join(tmpdir(), "userdata-"));
    try {
      const file = path.join(dir, "user-data.sh");
      writeFileSync(file, collectorUserData(i));
      execFileSync("bash", ["-n", file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the collector as a systemd service on the spool mount, with the TLS material from SSM", () => {
    const s = collectorUserData(input);
    expect(s).toContain("RequiresMountsFor=/var/lib/unmeltable");
    // Port 514 without root, and the UDP receiver thread above the process's priority (README, "UDP").
    expect(s).toContain("AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SYS_NICE");
    expect(s).toContain("CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_NICE");
    expect(s).toContain("ExecStartPre=+/usr/local/libexec/unmeltable-tls");
    expect(s).toContain("--tls-port 6514 --https-port 443");
    expect(s).toContain("for pair in cert:/unmeltable/prod/tls/cert key:/unmeltable/prod/tls/key; do");
    expect(s).toContain("blkid \"$DEV\" >/dev/null 2>&1 || mkfs.xfs -L unmeltable-spool \"$DEV\"");
    expect(s).toContain("grep \" node-v20.20.2-linux-x64.tar.xz\\$\" SHASUMS256.txt | sha256sum -c -");
    const git = collectorUserData({ ...input, artifact: { kind: "git", url: "https://example.com/u.git", ref: "main" } });
    expect(git).toContain("git clone --depth 1 --branch 'main' 'https://example.com/u.git' /opt/unmeltable");
    expect(git).toContain("npm ci --no-audit --no-fund && npm run build");
  });
});

describe("the collectors' Kafka client", () => {
  /** The script's client choice, run by bash with this machine's node and `program` as the install dir. */
  const choose = (program: string) => {
    const script = collectorUserData(input);
    const from = script.indexOf("KAFKA_CLIENT=native");
    const block = script.slice(from, script.indexOf("\nfi\n", from) + 4).replaceAll("/opt/node/bin/node", process.execPath).replaceAll("/opt/unmeltable", program);
    // logger may be absent here: the script tolerates that (`|| true`).
    return execFileSync("bash", ["-c", `set -euo pipefail\n${block}\necho "client=$KAFKA_CLIENT"`], { encoding: "utf8", env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
  };

  it("native: each instance installs it itself, from the artifact's lockfile (npm ci), the optional packages included", () => {
    const s = collectorUserData(input);
    expect(s).toContain("cd /opt/unmeltable && npm ci --omit=dev --no-audit --no-fund");
    expect(s).not.toContain("npm install");
    expect(s).toMatch(/\nUNMELTABLE_KAFKA_CLIENT=\$KAFKA_CLIENT\n/);
    expect(s.indexOf("npm ci")).toBeLessThan(s.indexOf("KAFKA_CLIENT=native"));
    expect(s.indexOf("KAFKA_CLIENT=native")).toBeLessThan(s.indexOf("systemctl enable --now"));
  });

  it("native: the service gets it when it loads on the instance", () => {
    // The repository's own install has the native client, built for this machine.
    expect(choose(path.resolve("."))).toMatch(/client=native\n$/);
  });

  it("native: falls back to the pure-JS client, and says so, when it did not install or does not load", () => {
    const empty = mkdtempSync(path.join(tmpdir(), "collector-program-"));
    try {
      const out = choose(empty);
      expect(out).toContain(`the native Kafka client (${NATIVE_KAFKA_CLIENT.name} ${NATIVE_KAFKA_CLIENT.version}) did not install or load here: the collector uses the pure-JS client`);
      expect(out).toMatch(/client=js\n$/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("js: the native client is not installed at all", () => {
    const s = collectorUserData({ ...input, kafkaClient: "js" });
    expect(s).toContain("npm ci --omit=dev --omit=optional --no-audit --no-fund");
    expect(s).toContain("\nKAFKA_CLIENT=js\n");
    expect(s).not.toContain(NATIVE_KAFKA_CLIENT.name);
  });
});

describe("the collectors' native UDP receive path", () => {
  it("is compiled on the instance from the artifact's source, after npm ci, and then loads and receives", async () => {
    const s = collectorUserData(input);
    const line = s.split("\n").find((l) => l.includes("build-native.mjs"));
    expect(line).toBe("cd /opt/unmeltable && node scripts/build-native.mjs");
    expect(s.indexOf("npm ci")).toBeLessThan(s.indexOf(line!));
    // The artifact's files (NATIVE_SOURCES, as sst-collector-artifact.mjs copies them) in a folder of their
    // own; the boot script's line run there by bash with this machine's node and compiler.
    const program = mkdtempSync(path.join(tmpdir(), "collector-native-"));
    try {
      for (const f of NATIVE_SOURCES) {
        mkdirSync(path.dirname(path.join(program, f)), { recursive: true });
        copyFileSync(f, path.join(program, f));
      }
      execFileSync("bash", ["-c", `set -euo pipefail\nexport PATH=${path.dirname(process.execPath)}:$PATH\n${line!.replaceAll("/opt/unmeltable", program)}`], { stdio: "pipe" });
      const addon = path.join(program, "dist/udp-recvmmsg.node");
      const native = createRequire(import.meta.url)(addon) as NativeUdp;
      const got: string[] = [];
      const opened = native.open("127.0.0.1", 0, 1 << 20, 4, 1, 0, (batch, count) => {
        if (batch && count > 0) got.push(batch.toString("latin1"));
      });
      const socket = dgram.createSocket("udp4");
      await new Promise<void>((resolve) => socket.send("<13>built on the instance", opened.port, "127.0.0.1", () => resolve()));
      socket.close();
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      native.close(opened.handle);
      expect(got.join("")).toContain("<13>built on the instance");
    } finally {
      rmSync(program, { recursive: true, force: true });
    }
  });

  it("is not in the artifact as a binary of the machine that made it", () => {
    expect(NATIVE_SOURCES.every((f) => !f.endsWith(".node"))).toBe(true);
  });
});

describe("the OpenSearch role mapping step", () => {
  const plan = planMappings({
    endpoints: { default: "https://a", bulk: "https://b" },
    master: "arn:master",
    grants: { writer: ["arn:w2", "arn:w1", "arn:w1"], lifecycle: ["arn:l"], reader: ["arn:r"] },
  });

  it("gives each kind of function its own role and mapping in every domain; all_access keeps only the master, readall nobody", () => {
    for (const endpoint of ["https://a", "https://b"]) {
      const at = (path: string) => plan.find((r) => r.endpoint === endpoint && r.path === `/_plugins/_security/api/${path}`)?.body;
      expect(at("rolesmapping/unmeltable_index_writer")).toEqual({ backend_roles: ["arn:w1", "arn:w2"], hosts: [], users: [] });
      expect(at("rolesmapping/unmeltable_lifecycle")).toEqual({ backend_roles: ["arn:l"], hosts: [], users: [] });
      expect(at("rolesmapping/unmeltable_reader")).toEqual({ backend_roles: ["arn:r"], hosts: [], users: [] });
      expect(at("rolesmapping/all_access")).toEqual({ backend_roles: ["arn:master"], hosts: [], users: [] });
      expect(at("rolesmapping/readall")).toEqual({ backend_roles: [], hosts: [], users: [] });
      // Each role is put before it is mapped.
      const paths = plan.filter((r) => r.endpoint === endpoint).map((r) => r.path);
      for (const name of ["unmeltable_index_writer", "unmeltable_lifecycle", "unmeltable_reader"]) {
        expect(paths.indexOf(`/_plugins/_security/api/roles/${name}`)).toBeLessThan(paths.indexOf(`/_plugins/_security/api/rolesmapping/${name}`));
      }
    }
    expect(plan).toHaveLength(2 * 8);
  });

  it("grants only the log indices and only the actions each function's requests need: no security API, no deletes but the lifecycle's, no writes for readers", () => {
    const roles: Record<string, SecurityRole> = Object.fromEntries(plan.filter((r) => r.path.includes("/roles/")).map((r) => [r.path.split("/").at(-1)!, r.body as SecurityRole]));
    const all = Object.values(roles);
    for (const role of all) {
      expect(role.index_permissions.flatMap((p) => p.index_patterns)).toEqual(["logs-*"]);
      const actions = [...role.cluster_permissions, ...role.index_permissions.flatMap((p) => p.allowed_actions)];
      for (const broad of ["*", "unlimited", "cluster_all", "indices_all", "manage", "all_access", "data_access"]) expect(actions).not.toContain(broad);
      expect(actions.some((a) => a.includes("security"))).toBe(false);
    }
    const index = (name: string) => roles[name]!.index_permissions.flatMap((p) => p.allowed_actions);
    expect(index("unmeltable_reader")).toEqual(["read"]);
    expect(roles.unmeltable_reader!.cluster_permissions).toEqual(["cluster_composite_ops_ro"]);
    expect(index("unmeltable_index_writer")).toEqual(["create_index", "write"]);
    expect(index("unmeltable_index_writer")).not.toContain("indices:admin/delete");
    expect(index("unmeltable_lifecycle")).toContain("indices:admin/delete");
    expect(functionRoles("ops").reader.role.index_permissions[0]!.index_patterns).toEqual(["ops-*"]);
  });
});

describe("the collector artifact", () => {
  it("pins what the bundles load to package-lock.json, with a lockfile of exactly those packages for npm ci", () => {
    const rootLock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { version?: string; dev?: boolean; link?: boolean; dependencies?: Record<string, string> }> };
    const bundle = 'import { Command } from "commander";\nconst k = await import("@confluentinc/kafka-javascript");';
    const { packageJson, lockfile } = artifactManifest({
      version: "9.9.9",
      bundles: [bundle],
      workspacePackages: [{ dependencies: { commander: "^14", "@unmeltable/core": "0.1.0", preact: "^10" }, optionalDependencies: { [NATIVE_KAFKA_CLIENT.name]: "^1" } }],
      rootLock,
      allowScripts: { [NATIVE_KAFKA_CLIENT.name]: true, esbuild: true, protobufjs: false },
    });
    expect(packageJson.dependencies).toEqual({ commander: rootLock.packages["node_modules/commander"]!.version });
    // The repository's install-script policy, for the packages the artifact holds.
    expect(packageJson.allowScripts).toEqual({ [NATIVE_KAFKA_CLIENT.name]: true });
    expect(packageJson.optionalDependencies).toEqual({ [NATIVE_KAFKA_CLIENT.name]: NATIVE_KAFKA_CLIENT.version });
    const locked = lockfile.packages as Record<string, { version?: string; optional?: boolean; dev?: boolean; dependencies?: Record<string, string> }>;
    expect(locked[""]).toMatchObject({ name: "unmeltable-collector", version: "9.9.9", dependencies: packageJson.dependencies, optionalDependencies: packageJson.optionalDependencies });
    expect(locked["node_modules/commander"]!.optional).toBeUndefined();
    expect(locked[`node_modules/${NATIVE_KAFKA_CLIENT.name}`]).toMatchObject({ version: NATIVE_KAFKA_CLIENT.version, optional: true });
    // What only the native client needs is optional too; nothing is a dev package; every dependency of
    // a locked package is locked where Node would find it.
    expect(locked["node_modules/@mapbox/node-pre-gyp"]).toMatchObject({ optional: true });
    expect(Object.values(locked).filter((e) => e.dev)).toEqual([]);
    for (const [key, entry] of Object.entries(locked)) {
      if (!key) continue;
      expect(entry.version, key).toBe(rootLock.packages[key]!.version);
      for (const dep of Object.keys(entry.dependencies ?? {})) {
        const candidates = [`${key}/node_modules/${dep}`, ...key.split("/node_modules/").map((_, i, parts) => `${parts.slice(0, parts.length - 1 - i).join("/node_modules/")}/node_modules/${dep}`.replace(/^\//, ""))];
        expect(candidates.some((c) => c in locked), `${key} needs ${dep}`).toBe(true);
      }
    }
    expect(Object.keys(locked)).not.toContain("node_modules/preact");
  });

  it("lists the workspace dependencies the bundles load, and no workspace package", () => {
    const bundle = 'import x from "commander";\nconst k = createRequire(import.meta.url)("@confluentinc/kafka-javascript");\nimport("@aws-sdk/client-s3/dist")';
    expect(runtimeDependencies([bundle], new Set(["commander", "@confluentinc/kafka-javascript", "@aws-sdk/client-s3", "preact", "@unmeltable/core"]))).toEqual([
      "@aws-sdk/client-s3",
      "@confluentinc/kafka-javascript",
      "commander",
    ]);
  });
});

describe("index settings of the tiers", () => {
  it("gives replicas explicitly (none on a single-node domain, one where a second node holds it) and ICU analysis (Amazon OpenSearch Service ships analysis-icu)", () => {
    const settings = (stage: string) => indexSettingsFor(resolveStage(stage, {}));
    expect(settings("staging")).toEqual(Object.fromEntries(TIERS.map((t) => [t.name, { replicas: 0, analysis: "icu" }])));
    expect(settings("alice")).toEqual(Object.fromEntries(TIERS.map((t) => [t.name, { replicas: 0, analysis: "icu" }])));
    expect(settings("prod")).toEqual(Object.fromEntries(TIERS.map((t) => [t.name, { replicas: 1, analysis: "icu" }])));
  });
});
