import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEAD_LETTER_TOPIC, encodeDeadLetter, encodeProcessedDocs, newEventId, toEvent, type DeadLetter } from "@unmeltable/core";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { CLI, cli, readTopic, removeDir, ROOT, startProgram, tempDataDir, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

const execFileP = promisify(execFile);

interface ListedLetter {
  partition: number;
  offset: number;
  stage: string;
  reason: string;
  tenant: string | null;
  redriven: boolean;
  redrive: { topic: string; tenant: string } | null;
  notRedrivable?: string;
}

interface Report {
  matched: number;
  redriven: number;
  alreadyRedriven: number;
  skipped: Record<string, number>;
  topics: Record<string, number>;
}

/** Runs the CLI, keeping stderr (the progress output) too. */
async function cliWithProgress(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileP(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
}

/**
 * `unmeltable deadletters list|redrive` end to end: syslog with tokens that belong to no tenant yet, and
 * index failures an earlier version dead-lettered (`retries_exhausted`: the issue's 400 events never
 * searchable), redriven through a running server and with the server stopped, each exactly once.
 */
describe("deadletters list and redrive", () => {
  let program: Program;
  let dataDir: string;
  let def: TenantTokens;
  const run = randomUUID().slice(0, 8);
  const lateToken = randomUUID();
  const laterToken = randomUUID();

  beforeAll(async () => {
    dataDir = await tempDataDir();
    // What an earlier version left in the dead letters: an acknowledged batch of 400 events that the
    // index stage gave up on after its retries, and one event the index refused.
    const queue = await EmbeddedQueue.open({ dir: path.join(dataDir, "queue") });
    await queue.admin.ensureTopics([{ name: DEAD_LETTER_TOPIC, partitions: 1 }]);
    const doc = (text: string) =>
      JSON.stringify(toEvent({ id: newEventId(), tenant: "default", receivedAt: Date.now(), transport: "http", remote: "127.0.0.1", collector: "old", tags: ["legacy"], raw: text }));
    const docs = Array.from({ length: 400 }, (_, i) => doc(`legacy${run} n${i}`));
    const letters: DeadLetter[] = [
      { stage: "index.default", reason: "retries_exhausted", error: "index write failed: database is locked (after 6 attempts)", at: Date.now(), tenant: "default", bytes: encodeProcessedDocs("default", docs).toString("base64"), source: "processed.default-0@7" },
      { stage: "index", reason: "index_rejected", error: "400 mapper_parsing_exception", at: Date.now(), tenant: "default", bytes: Buffer.from(doc(`rejected${run}`)).toString("base64"), source: "processed.default-0@8" },
    ];
    await queue.producer().send(DEAD_LETTER_TOPIC, letters.map((l) => ({ key: "default", value: encodeDeadLetter(l) })));
    await queue.close();
    program = await startProgram({ dataDir });
    def = await tenantTokens(dataDir);
  });
  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(dataDir);
  });

  const sendSyslog = (lines: string[]) =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(program.syslogPort, "127.0.0.1", () => socket.end(lines.join("")));
      socket.on("error", reject);
      socket.on("close", () => resolve());
    });
  const line = (token: string | undefined, text: string) => `<14>1 - web-1 app - - ${token ? `[${token}@41058 tag="late"]` : "-"} ${text}\n`;
  const list = async (...args: string[]) =>
    (await cli(["deadletters", "list", "--data-dir", dataDir, "--json", ...args]))
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as ListedLetter);
  const redrive = async (...args: string[]) => {
    const out = await cliWithProgress(["deadletters", "redrive", "--data-dir", dataDir, "--json", ...args]);
    return { report: JSON.parse(out.stdout) as Report, progress: out.stderr };
  };
  const count = async (q: string, token: string) =>
    ((await (await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h&until=now`), { headers: { Authorization: `bearer ${token}` } })).json()) as { count: number }).count;

  it("lists what is there and what can be redriven", async () => {
    await sendSyslog([0, 1, 2].map((i) => line(lateToken, `late${run} n${i}`)).concat(line(undefined, `notoken${run}`)));
    await waitFor("the unknown-token and missing-token dead letters", async () => (await list()).filter((l) => l.stage === "collector").length === 4);
    const letters = await list();
    const unknown = letters.filter((l) => l.reason === "unknown_token");
    expect(unknown).toHaveLength(3);
    for (const l of unknown) expect(l).toMatchObject({ redriven: false, redrive: null, notRedrivable: "its token still belongs to no tenant" });
    expect(letters.find((l) => l.reason === "missing_token")).toMatchObject({ redrive: null, notRedrivable: "the message carries no token" });
    expect(letters.find((l) => l.reason === "retries_exhausted")).toMatchObject({ stage: "index.default", tenant: "default", redrive: { topic: "processed.default", tenant: "default" } });
    expect((await list("--reason", "index_rejected")).map((l) => l.reason)).toEqual(["index_rejected"]);
    expect((await list("--stage", "index")).map((l) => l.reason).sort()).toEqual(["index_rejected", "retries_exhausted"]);
    // The human listing says the same.
    const table = await cli(["deadletters", "list", "--data-dir", dataDir]);
    expect(table).toMatch(/unknown_token .*not redrivable: its token still belongs to no tenant/);
    expect(table).toMatch(/6 dead letters: 2 redrivable, 0 already redriven, 4 not redrivable/);
  });

  it("redrives an earlier version's index failures exactly once, through the running server", async () => {
    const first = await redrive("--stage", "index");
    expect(first.report).toMatchObject({ matched: 2, redriven: 2, alreadyRedriven: 0, topics: { "processed.default": 2 } });
    expect(first.progress).toMatch(/redrive: 2 redriven/);
    await waitFor("the 400 events searchable", async () => (await count(`legacy${run}`, def.apiToken)) === 400, 60_000);
    await waitFor("the refused event searchable", async () => (await count(`rejected${run}`, def.apiToken)) === 1);

    const again = await redrive("--stage", "index");
    expect(again.report).toMatchObject({ matched: 2, redriven: 0, alreadyRedriven: 2 });
    expect((await list("--stage", "index")).every((l) => l.redriven)).toBe(true);
  });

  it("redrives unknown-token messages once their tenant exists (added with their token), and only those", async () => {
    const late = JSON.parse(await cli(["tenants", "add", "late", "--data-dir", dataDir, "--ingest-token", lateToken, "--json"])) as TenantTokens;
    expect(late.ingestToken).toBe(lateToken);
    expect((await list("--tenant", "late")).map((l) => l.redrive?.tenant)).toEqual(["late", "late", "late"]);

    const first = await redrive("--tenant", "late");
    expect(first.report).toMatchObject({ matched: 3, redriven: 3, topics: { raw: 3 } });
    await waitFor("the late tenant's events searchable", async () => (await count(`late${run}`, late.apiToken)) === 3, 30_000);

    // A rerun without filters sends nothing twice, and says why the rest stays.
    const all = await redrive();
    expect(all.report).toMatchObject({ redriven: 0, alreadyRedriven: 5, skipped: { "the message carries no token": 1 } });
    expect((await readTopic(dataDir)).filter((e) => e.raw.includes(`late${run}`))).toHaveLength(3);
    expect(await count(`late${run}`, late.apiToken)).toBe(3);
    expect(await count(`legacy${run}`, def.apiToken)).toBe(400);
    // Each event kept its place and time, and the tenant's tag.
    const res = await fetch(program.url(`/apiv2/events/iterate?q=${encodeURIComponent(`late${run}`)}&from=-1h&until=now`), { headers: { Authorization: `bearer ${late.apiToken}` } });
    const events = ((await res.json()) as { events: { tags: string[]; event: { syslog?: { host?: string } } }[] }).events;
    expect(events.map((e) => e.tags)).toEqual([["late"], ["late"], ["late"]]);
    expect(events.every((e) => e.event.syslog?.host === "web-1")).toBe(true);
  });

  it("redrives with the server stopped, straight into the queue", async () => {
    await sendSyslog([line(laterToken, `later${run}`)]);
    await waitFor("the new unknown-token dead letter", async () => (await list("--reason", "unknown_token")).length === 4);
    expect(await program.stop()).toBe(0);
    const later = JSON.parse(await cli(["tenants", "add", "later", "--data-dir", dataDir, "--ingest-token", laterToken, "--json"])) as TenantTokens;
    const offline = await redrive("--reason", "unknown_token");
    expect(offline.report).toMatchObject({ matched: 4, redriven: 1, alreadyRedriven: 3 });

    program = await startProgram({ dataDir, syslogPort: program.syslogPort, httpPort: program.httpPort });
    await waitFor("the redriven event searchable after the restart", async () => (await count(`later${run}`, later.apiToken)) === 1, 30_000);
  });
});
