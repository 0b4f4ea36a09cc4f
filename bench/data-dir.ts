/**
 * What a tenant's events cost on disk in `unmeltable start`: --events seeded syslog lines (bench/lib) over
 * TCP, then the data folder's bytes per event by part (queue topics, index) once every event is indexed,
 * and again after the queue's retention has run (it runs every minute; the index feed's segments go once
 * indexed). Also the server's peak RSS.
 *
 *   npm run bench:data-dir -- [--events 1000000] [--port 24100]
 */
import { readdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { messageRing, sendTcp } from "./lib/senders";
import { startServer } from "./lib/server";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "1000000" }, port: { type: "string" }, seed: { type: "string", default: "1" } } });
const N = Number(args.events);

function bytes(p: string): number {
  let n = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) n += e.isDirectory() ? bytes(path.join(p, e.name)) : statSync(path.join(p, e.name)).size;
  return n;
}

function parts(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const topics = path.join(dir, "queue", "topics");
  for (const t of readdirSync(topics)) out[`queue ${t}`] = bytes(path.join(topics, t));
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && e.name !== "queue") out[e.name] = bytes(path.join(dir, e.name));
  return out;
}

function show(label: string, p: Record<string, number>, raw: number): void {
  const total = Object.values(p).reduce((a, b) => a + b, 0);
  const list = Object.entries(p)
    .filter(([, b]) => b > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, b]) => `${k} ${(b / N).toFixed(0)}`)
    .join(", ");
  console.log(`${label}: ${(total / N).toFixed(0)} B/event = ${(total / raw).toFixed(2)}× raw (${list})`);
}

/** The index slices' bytes per event by table and index (SQLite's dbstat), FTS5's shadow tables summed as one. */
function indexTables(dir: string): string {
  const by = new Map<string, number>();
  const walk = (p: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith(".db")) {
        const db = new Database(f, { readonly: true });
        try {
          for (const r of db.prepare("SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name").all() as { name: string; b: number }[]) {
            const k = r.name.startsWith("fts_") ? "fts (all shadow tables)" : r.name;
            by.set(k, (by.get(k) ?? 0) + r.b);
          }
        } finally {
          db.close();
        }
      }
    }
  };
  walk(dir);
  return [...by].sort((a, b) => b[1] - a[1]).map(([k, b]) => `${k} ${(b / N).toFixed(1)}`).join(", ");
}

const s = await startServer([], args.port ? { syslogPort: Number(args.port) } : {});
try {
  const ring = messageRing({ seed: Number(args.seed), size: 0, token: s.ingestToken, count: 65_536 });
  const raw = ring.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) * (N / ring.length);
  await sendTcp({ host: "127.0.0.1", port: s.syslogPort, ring, total: N, connections: 2, octet: false });
  while ((await s.metric("unmeltable_stage_events_out_total", 'stage="index.default"')) < N) await new Promise((r) => setTimeout(r, 500));
  console.log(`${N.toLocaleString()} events, raw ${(raw / N).toFixed(0)} B/event sent, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  show("all indexed", parts(s.dataDir), raw);
  // The queue's retention runs every minute.
  await new Promise((r) => setTimeout(r, 65_000));
  show("after the queue's retention ran", parts(s.dataDir), raw);
  console.log(`index by table, B/event: ${indexTables(path.join(s.dataDir, "index"))}`);
  console.log(`peak RSS ${s.stats().peakRssMiB} MiB`);
} finally {
  await s.stop();
}
