import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, readTopic, removeDir, ROOT, run, startProgram, tenantTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * A real rsyslogd forwarding with Loggly's template (README, "Sending logs"), the way Loggly documents it for
 * files (imfile) and for relaying other machines' RFC 3164 syslog. rsyslog writes `%protocol-version%` as 0 for
 * both, so the lines arrive as `<PRI>0 2026-… host app - - [TOKEN@41058 tag="rsyslog"] msg`.
 */

/** The rsyslogd the tests use: unpacked by scripts/test-setup.mjs, or the system's. */
function rsyslogd(): { bin: string; args: string[] } {
  const root = path.join(ROOT, "node_modules/.cache/unmeltable-test/rsyslog");
  const bin = path.join(root, "usr/sbin/rsyslogd");
  if (existsSync(bin)) return { bin, args: ["-M", path.join(root, "usr/lib/x86_64-linux-gnu/rsyslog")] };
  return { bin: "rsyslogd", args: [] };
}

interface ApiEvent {
  tags: string[];
  logtypes: string[];
  logmsg: string;
  event: { syslog?: { appName?: string; host?: string }; json?: Record<string, unknown> };
}

describe("rsyslog with Loggly's template", () => {
  let program: Program;
  let tokens: TenantTokens;
  let rsyslog: ChildProcess;
  let dir: string;
  let logFile: string;
  let udpPort: number;

  beforeAll(async () => {
    // No --default-tenant: a line whose token is not read is refused (missing_token), as in production.
    program = await startProgram();
    tokens = await tenantTokens(program.dataDir);
    dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-rsyslog-"));
    mkdirSync(path.join(dir, "work"));
    logFile = path.join(dir, "app.log");
    writeFileSync(logFile, "");
    udpPort = await freePort();
    const template = `<%pri%>%protocol-version% %timestamp:::date-rfc3339% %HOSTNAME% %app-name% %procid% %msgid% [${tokens.ingestToken}@41058 tag=\\"rsyslog\\"] %msg%\\n`;
    writeFileSync(
      path.join(dir, "rsyslog.conf"),
      [
        `global(workDirectory="${path.join(dir, "work")}")`,
        `module(load="imfile")`,
        `module(load="imudp")`,
        `input(type="imfile" File="${logFile}" Tag="myapp" Severity="info" Facility="local0")`,
        `input(type="imudp" address="127.0.0.1" port="${udpPort}")`,
        `template(name="UnmeltableFormat" type="string" string="${template}")`,
        `action(type="omfwd" protocol="tcp" target="127.0.0.1" port="${program.syslogPort}" template="UnmeltableFormat"`,
        `       queue.type="LinkedList" queue.filename="fwd_unmeltable" queue.saveOnShutdown="on" action.resumeRetryCount="-1")`,
        "",
      ].join("\n"),
    );
    const { bin, args } = rsyslogd();
    rsyslog = spawn(bin, [...args, "-n", "-f", path.join(dir, "rsyslog.conf"), "-i", path.join(dir, "rsyslogd.pid")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    rsyslog.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    rsyslog.on("exit", (code) => {
      if (code !== null && code !== 0) process.stderr.write(`rsyslogd exited ${code}: ${stderr}\n`);
    });
  });
  afterAll(async () => {
    if (rsyslog && rsyslog.exitCode === null && rsyslog.signalCode === null) {
      const exited = new Promise((r) => rsyslog.once("exit", r));
      rsyslog.kill("SIGTERM");
      await exited;
    }
    await program.kill();
    await removeDir(program.dataDir);
    await removeDir(dir);
  });

  it("delivers lines read from a file (imfile) and relayed RFC 3164 messages to the token's tenant, with their tags", async () => {
    const m = randomUUID();
    appendFileSync(logFile, `first line ${m}\n{"level":"error","marker":"${m}"}\nthird line ${m}\n`);
    // imudp may not be listening yet: send until rsyslog has relayed one.
    await waitFor("a relayed RFC 3164 message", async () => {
      await run("logger", ["--rfc3164", "-d", "-n", "127.0.0.1", "-P", String(udpPort), "-t", "legacyapp", `relayed ${m}`]);
      return (await readTopic(program.dataDir)).some((e) => e.raw.includes(`relayed ${m}`));
    });
    const events = await waitFor("the three file lines", async () => {
      const all = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(m));
      return all.filter((e) => !e.raw.includes("relayed")).length >= 3 ? all : undefined;
    });
    for (const e of events) {
      expect(e.raw).toMatch(/^<\d+>0 \d{4}-\d\d-\d\dT/); // rsyslog's VERSION 0
      expect(e).toMatchObject({ tenant: "default", transport: "tcp", tags: ["rsyslog"] });
    }
    expect(events.filter((e) => !e.raw.includes("relayed")).map((e) => e.raw.slice(e.raw.indexOf("] ") + 2))).toEqual([
      `first line ${m}`,
      `{"level":"error","marker":"${m}"}`,
      `third line ${m}`,
    ]);

    // Parsed as RFC 5424 and searchable: the app names, the tag, the JSON line's fields.
    const search = async (q: string): Promise<ApiEvent[]> => {
      const res = await fetch(program.url(`/apiv2/events/iterate?q=${encodeURIComponent(q)}&from=-1h&until=now`), { headers: { authorization: `bearer ${tokens.apiToken}` } });
      // A query that meets the tenant's first slice while the writer creates it answers 500 ("no such table:
      // events", index-sqlite): not yet searchable, ask again.
      if (res.status === 500) return [];
      expect(res.status).toBe(200);
      return ((await res.json()) as { events: ApiEvent[] }).events;
    };
    const fromFile = await waitFor("the file lines, searchable", async () => {
      const found = await search(`syslog.appName:myapp AND tag:rsyslog AND "${m}"`);
      return found.length === 3 ? found : undefined;
    });
    for (const e of fromFile) expect(e.logtypes[0]).toBe("syslog");
    const json = await waitFor("the JSON line's fields", async () => {
      const found = await search(`json.level:error AND json.marker:"${m}"`);
      return found.length === 1 ? found : undefined;
    });
    expect(json[0]!.event.syslog?.appName).toBe("myapp");
    const relayed = await waitFor("the relayed message, searchable", async () => {
      const found = await search(`syslog.appName:legacyapp AND "relayed ${m}"`);
      return found.length > 0 ? found : undefined;
    });
    expect(relayed[0]!.tags).toEqual(["rsyslog"]);
    // rsyslog's %msg% of an RFC 3164 message keeps the space after `tag:`.
    expect(relayed[0]!.logmsg.trim()).toBe(`relayed ${m}`);

    const missing = await (await fetch(program.url("/metrics"))).text();
    expect(missing).not.toMatch(/unmeltable_dropped_events_total\{reason="missing_token",stage="collector"\} [1-9]/);
  });
});
