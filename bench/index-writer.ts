/**
 * The embedded index writer alone, on a fixed seeded mixed corpus (bench/lib/corpus.ts: syslog, access
 * logs, JSON app logs, GC lines over 72 h, parsed by the real process stage code): CPU time per event of
 * preparing (the calling thread: parse, flatten, field tokens) and of storing (what the writer thread does:
 * SQLite inserts, FTS5, compression), bytes on disk per event by table, then the query targets of issue 16
 * at this scale (warm median and first run).
 *
 *   npm run bench:index-writer -- [--events 1000000] [--layout blocks|rows] [--fts keyed|one|two] [--batch 5000] [--runs 5] [--queries-only]
 *
 * CPU time (process.cpuUsage), not wall time: the machine is shared. Generating the corpus is not counted.
 * `--fts` is the FTS layout of new slices (packages/index-sqlite/src/schema.ts FtsLayout).
 * Writes into bench/out/writer-<layout>-<fts>-<events>/ (deleted first) and prints a Markdown row.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { newEventId, toEvent } from "@unmeltable/core";
import { EmbeddedIndex, IndexWriter, prepareWrite } from "@unmeltable/index-sqlite";
import { Corpus, rfc5424 } from "./lib/corpus";
import { queryCases } from "./lib/query-cases";
import type { FtsLayout } from "../packages/index-sqlite/src/schema";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: { events: { type: "string", default: "1000000" }, layout: { type: "string", default: "blocks" }, fts: { type: "string", default: "keyed" }, batch: { type: "string", default: "5000" }, runs: { type: "string", default: "5" }, "queries-only": { type: "boolean", default: false }, seed: { type: "string", default: "1" } },
});
const N = Number(args.events);
const BATCH = Number(args.batch);
const layout = args.layout as "blocks" | "rows";
if (layout !== "blocks" && layout !== "rows") throw new Error("--layout is blocks or rows");
const fts = args.fts as FtsLayout;
if (!["keyed", "one", "two"].includes(fts)) throw new Error("--fts is keyed, one or two");
const SPAN = 72 * 3_600_000;
const END = Date.UTC(2024, 2, 18, 0, 0, 0);
const START = END - SPAN;
const TENANT = "bench";
const RARE = 10;
const dir = path.join(ROOT, "bench/out", `writer-${layout}-${fts}-${N}`);

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function dirBytes(d: string): number {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(path.join(d, e.name)) : statSync(path.join(d, e.name)).size;
  return n;
}

async function main(): Promise<void> {
  if (!args["queries-only"]) await load();
  await queries();
}

async function load(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const writer = new IndexWriter(dir, () => "day", { layout, fts });
  const corpus = new Corpus(Number(args.seed));
  const rareEvery = Math.floor(N / RARE);
  let prepareCpu = 0;
  let storeCpu = 0;
  let rawBytes = 0;
  let docBytes = 0;
  let peakRss = 0;
  const wall0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const docs: string[] = [];
    for (let k = i; k < Math.min(N, i + BATCH); k++) {
      // Up to 2 s of arrival jitter, as events arrive slightly out of time order.
      const at = START + Math.floor((k / N) * SPAN) - (k % 7) * 300;
      const e = corpus.next(new Date(at));
      if (k % rareEvery === rareEvery - 1) e.message = `kernel: process ${k} segfault at 0000 ip 00007f sp 00007ffd error 4`;
      const raw = rfc5424(e, undefined, new Date(at));
      rawBytes += Buffer.byteLength(raw);
      const doc = JSON.stringify(toEvent({ id: newEventId(at), tenant: TENANT, receivedAt: at, transport: "tcp", remote: "10.0.0.1", collector: "bench", tags: ["bench"], raw }));
      docBytes += Buffer.byteLength(doc);
      docs.push(doc);
    }
    let t = cpu();
    const prepared = prepareWrite(TENANT, docs, "day");
    prepareCpu += cpu() - t;
    t = cpu();
    writer.apply(TENANT, prepared);
    storeCpu += cpu() - t;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if ((i / BATCH) % 20 === 0) process.stderr.write(`\r${(i + docs.length).toLocaleString()} / ${N.toLocaleString()}  store ${((storeCpu / (i + docs.length)) * 1e6).toFixed(1)} µs/event   `);
  }
  const t = cpu();
  writer.close();
  storeCpu += cpu() - t;
  const wall = (performance.now() - wall0) / 1000;
  process.stderr.write("\n");

  const bytes = dirBytes(dir);
  // Bytes per table and index (SQLite's dbstat), summed over the slice files.
  const perTable = new Map<string, number>();
  for (const f of readdirSync(path.join(dir, TENANT))) {
    if (!f.endsWith(".db")) continue;
    const db = new Database(path.join(dir, TENANT, f), { readonly: true });
    for (const r of db.prepare("SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name").all() as { name: string; b: number }[]) {
      const key = r.name.startsWith("fts") ? "fts" : r.name.startsWith("sqlite_autoindex_events") ? "events idb index" : r.name;
      perTable.set(key, (perTable.get(key) ?? 0) + r.b);
    }
    db.close();
  }

  const load = os.loadavg().map((l) => l.toFixed(1)).join(" ");
  console.log(`\nlayout ${layout}, ${N.toLocaleString()} events in batches of ${BATCH.toLocaleString()}, load ${load}, wall ${wall.toFixed(0)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
  console.log(`raw ${(rawBytes / N).toFixed(1)} B/event, processed document ${(docBytes / N).toFixed(1)} B/event`);
  console.log(`prepare (calling thread) ${((prepareCpu / N) * 1e6).toFixed(1)} µs/event CPU; store (writer thread) ${((storeCpu / N) * 1e6).toFixed(1)} µs/event CPU`);
  console.log(`on disk ${(bytes / N).toFixed(1)} B/event (${(bytes / rawBytes).toFixed(2)}× raw): ${[...perTable].sort((a, b) => b[1] - a[1]).map(([k, b]) => `${k} ${(b / N).toFixed(1)}`).join(", ")}`);

}

/** The query targets, over what load() wrote (--queries-only: over the last run's files). */
async function queries(): Promise<void> {
  console.log(`queries over ${dir}, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const cases = queryCases(TENANT, START, END);
  const rows: string[] = [];
  for (const c of cases) {
    const ix = new EmbeddedIndex({ dir, writer: "inline" });
    let t0 = performance.now();
    const result = await c.run(ix);
    const first = performance.now() - t0;
    const times: number[] = [];
    for (let r = 0; r < Number(args.runs); r++) {
      t0 = performance.now();
      await c.run(ix);
      times.push(performance.now() - t0);
    }
    await ix.close();
    times.sort((a, b) => a - b);
    rows.push(`| ${c.name}: \`${c.query}\` | ${result} | ${first.toFixed(1)} | ${times[Math.floor(times.length / 2)]!.toFixed(2)} |`);
  }
  console.log("| query | result | first ms | warm median ms |\n|---|---|---|---|");
  for (const r of rows) console.log(r);
}

await main();
