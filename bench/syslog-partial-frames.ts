/**
 * Unauthenticated memory on syslog TCP: many connections that each send an unfinished frame and then hold
 * it (a slowloris), while another sender streams events on a fresh connection.
 *
 *   node --import tsx bench/syslog-partial-frames.ts [connections=1000] [partialBytes=1000000] [-- server flags]
 *
 * Prints the server's RSS before, its peak (VmHWM), how many of the holding connections the server cut off,
 * and how many of the other sender's events became durable. Results: bench/RESULTS.md.
 */
import net from "node:net";
import { readFileSync } from "node:fs";
import { startServer } from "./lib/server";

const args = process.argv.slice(2);
const dash = args.indexOf("--");
const serverArgs = dash >= 0 ? args.slice(dash + 1) : [];
const positional = dash >= 0 ? args.slice(0, dash) : args;
const connections = Number(positional[0] ?? 1000);
const partialBytes = Number(positional[1] ?? 1_000_000);
const legitEvents = 20_000;

const rssMiB = (pid: number) => Math.round(Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)![1]) / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = await startServer(serverArgs);
await sleep(1000);
const pid = server.child.pid!;
const before = rssMiB(pid);
const started = Date.now();

let cutOff = 0;
let closingOurselves = false;
const sockets: net.Socket[] = [];
const header = `<13>1 - attacker app - - [${server.ingestToken}@41058 tag="x"] `;
const payload = Buffer.from(header + "x".repeat(Math.max(0, partialBytes - header.length)));
await Promise.all(
  Array.from({ length: connections }, async () => {
    const s = net.connect(server.syslogPort, "127.0.0.1");
    sockets.push(s);
    s.on("error", () => undefined);
    s.on("close", () => {
      if (!closingOurselves) cutOff++;
    });
    await new Promise<void>((resolve) => {
      s.once("connect", () => s.write(payload, () => resolve()));
      s.once("close", () => resolve());
    });
  }),
);
// Let the server read what the kernel holds for it.
let peakSeen = rssMiB(pid);
for (let i = 0; i < 20; i++) {
  await sleep(250);
  peakSeen = Math.max(peakSeen, rssMiB(pid));
}

const durableBefore = await server.metric("unmeltable_events_durable_total");
const legit = net.connect(server.syslogPort, "127.0.0.1");
await new Promise((r) => legit.once("connect", r));
const lines: string[] = [];
for (let i = 0; i < legitEvents; i++) lines.push(`<13>1 - sender app - - [${server.ingestToken}@41058 tag="legit"] event ${i}\n`);
await new Promise<void>((r) => legit.end(lines.join(""), () => r()));
let durable = 0;
for (let i = 0; i < 200; i++) {
  durable = (await server.metric("unmeltable_events_durable_total")) - durableBefore;
  if (durable >= legitEvents) break;
  await sleep(100);
}
const serverOpen = await server.metric("unmeltable_syslog_connections", 'transport="tcp"');
const serverUnfinished = await server.metric("unmeltable_syslog_unfinished_frame_bytes");
const stats = server.stats();
const after = rssMiB(pid);
closingOurselves = true;
for (const s of sockets) s.destroy();
await server.stop();

console.log(
  JSON.stringify({
    connections,
    partialBytes,
    serverArgs,
    rssBeforeMiB: before,
    rssPeakMiB: stats.peakRssMiB,
    rssAfterMiB: after,
    cutOffByServer: cutOff,
    serverOpen,
    serverUnfinished,
    legitSent: legitEvents,
    legitDurable: durable,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  }),
);
process.exit(0);
