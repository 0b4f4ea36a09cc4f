import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, readTopic, removeDir, run, startProgram, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Syslog over UDP, through each receive path (packages/collector/src/udp-receiver.ts): the native one
 * (recvmmsg in a thread of its own, native/udp-recvmmsg.c, built by the tests' global set-up with the
 * program) and Node's dgram in a worker thread. Two real senders (`logger`, one datagram per line) of two
 * tenants at once; every datagram arrives once, in its tenant, with its sender's address, and what was
 * counted durable survives a SIGKILL.
 */

async function metric(program: Program, line: RegExp): Promise<number> {
  const text = await (await fetch(program.url("/metrics"))).text();
  const m = text.match(line);
  return m ? Number(m[1]) : 0;
}

describe.each(["native", "dgram"])("syslog over UDP through the %s receive path", (receivePath) => {
  let program: Program;
  const tenants: TenantTokens[] = [];

  beforeAll(async () => {
    program = await startProgram({ command: "collector", args: ["--udp-receiver", receivePath] });
    for (const name of ["udpa", "udpb"]) {
      const t = JSON.parse(await cli(["tenants", "add", name, "--data-dir", program.dataDir, "--json"])) as TenantTokens;
      await waitFor(`tenant ${name} known to the server`, async () => (await fetch(program.url(`/inputs/${t.ingestToken}/tag/probe`), { method: "POST", body: "probe" })).status === 200, 60_000);
      tenants.push(t);
    }
  });
  afterAll(async () => {
    if (program.child.exitCode === null) await program.kill();
    await removeDir(program.dataDir);
  });

  it("says which receive path it uses on /metrics", async () => {
    expect(await metric(program, new RegExp(`^unmeltable_syslog_udp_receive_path\\{path="${receivePath}"\\} (\\d+)`, "m"))).toBe(1);
  });

  it("takes every datagram of two concurrent senders once, in its tenant, and keeps what was durable after SIGKILL", async () => {
    const marker = randomUUID().slice(0, 8);
    const N = 1000;
    const durableBefore = await metric(program, /^unmeltable_events_durable_total (\d+)/m);
    await Promise.all(
      tenants.map((t) => {
        const lines = Array.from({ length: N }, (_, i) => `${marker}-${t.name}-${i}`).join("\n") + "\n";
        return run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-d", "--rfc5424", "--sd-id", `${t.ingestToken}@41058`, "--sd-param", 'tag="udp"'], lines);
      }),
    );
    await waitFor("every datagram durable", async () => (await metric(program, /^unmeltable_events_durable_total (\d+)/m)) - durableBefore >= 2 * N, 120_000);
    expect(await metric(program, /^unmeltable_events_received_total\{transport="udp"\} (\d+)/m)).toBe(2 * N);
    await program.kill();

    const events = (await readTopic(program.dataDir)).filter((e) => e.raw.includes(marker));
    expect(events).toHaveLength(2 * N);
    for (const t of tenants) {
      const theirs = events.filter((e) => e.tenant === t.name);
      expect(new Set(theirs.map((e) => e.raw.slice(e.raw.indexOf(marker))))).toEqual(new Set(Array.from({ length: N }, (_, i) => `${marker}-${t.name}-${i}`)));
      for (const e of theirs) expect(e).toMatchObject({ transport: "udp", remote: "127.0.0.1", tags: ["udp"] });
    }
  }, 300_000);
});
