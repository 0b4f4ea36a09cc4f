/**
 * Query latency over a large seeded corpus in the embedded index (the engine the server uses).
 *
 *   npm run bench:query -- [--events 10000000] [--seed 1] [--runs 5]
 *
 * The first run loads the corpus (parsed by the real process stage code, written by the real index
 * writer, 72 hours of events, day slices, FTS layout --fts: schema.ts FtsLayout) into
 * bench/out/index-<events>-s<seed>-<fts>/ and reuses it after.
 * Then each query runs once cold (freshly opened files) and `runs` times warm; the median warm and the
 * cold time are printed and written to bench/out/query-<timestamp>.json.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { newEventId, toEvent } from "@unmeltable/core";
import { EmbeddedIndex, IndexWriter } from "@unmeltable/index-sqlite";
import { Corpus, rfc5424 } from "./lib/corpus";
import { queryCases } from "./lib/query-cases";
import type { FtsLayout } from "../packages/index-sqlite/src/schema";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({ options: { events: { type: "string", default: "10000000" }, seed: { type: "string", default: "1" }, runs: { type: "string", default: "5" }, fts: { type: "string", default: "keyed" } } });
if (!["keyed", "one", "two"].includes(args.fts)) throw new Error(`--fts is keyed (new slices' FTS layout), one or two (the layouts before), not ${args.fts}`);
const FTS = args.fts as FtsLayout;
const N = Number(args.events);
const SEED = Number(args.seed);
const SPAN = 72 * 3_600_000;
const END = Date.UTC(2024, 2, 18, 0, 0, 0);
const START = END - SPAN;
const TENANT = "bench";
const dir = path.join(ROOT, "bench/out", `index-${N}-s${SEED}-${FTS}`);
/** Exactly this many events contain the rare word. */
const RARE = 10;

async function load(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const writer = new IndexWriter(dir, () => "day", { fts: FTS });
  const corpus = new Corpus(SEED);
  const batch = 10_000;
  const started = performance.now();
  const rareEvery = Math.floor(N / RARE);
  for (let i = 0; i < N; i += batch) {
    const docs: string[] = [];
    for (let k = i; k < Math.min(N, i + batch); k++) {
      const at = START + Math.floor((k / N) * SPAN);
      const e = corpus.next(new Date(at));
      if (k % rareEvery === rareEvery - 1) e.message = `kernel: process ${k} segfault at 0000 ip 00007f sp 00007ffd error 4`;
      const raw = rfc5424(e, undefined, new Date(at));
      docs.push(JSON.stringify(toEvent({ id: newEventId(at), tenant: TENANT, receivedAt: at, transport: "tcp", remote: "10.0.0.1", collector: "bench", tags: ["bench"], raw })));
    }
    writer.write(TENANT, docs);
    if ((i / batch) % 20 === 0) {
      const done = i + docs.length;
      const rate = done / ((performance.now() - started) / 1000);
      process.stderr.write(`\rloading ${done.toLocaleString()} / ${N.toLocaleString()} events, ${Math.round(rate).toLocaleString()}/s, ${Math.round((N - done) / rate)} s left   `);
    }
  }
  writer.close();
  writeFileSync(path.join(dir, "LOADED"), JSON.stringify({ events: N, seed: SEED, seconds: (performance.now() - started) / 1000 }));
  process.stderr.write(`\nloaded in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

interface Row {
  name: string;
  query: string;
  result: string;
  coldMs: number;
  warmMedianMs: number;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(dir, "LOADED"))) await load();
  const cases = queryCases(TENANT, START, END);
  const rows: Row[] = [];
  for (const c of cases) {
    const cold = new EmbeddedIndex({ dir, writer: "inline" });
    let t = performance.now();
    const result = await c.run(cold);
    const coldMs = performance.now() - t;
    const times: number[] = [];
    for (let r = 0; r < Number(args.runs); r++) {
      t = performance.now();
      await c.run(cold);
      times.push(performance.now() - t);
    }
    await cold.close();
    times.sort((a, b) => a - b);
    const row = { name: c.name, query: c.query, result, coldMs: round(coldMs), warmMedianMs: round(times[Math.floor(times.length / 2)]!) };
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  console.log(`\nquery latency over ${N.toLocaleString()} events (72 h, day slices, FTS layout ${FTS}, seed ${SEED}); "cold" = first query on freshly opened files (the OS page cache may be warm)`);
  console.log("| query | result | cold ms | warm median ms |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.name}: \`${r.query}\` | ${r.result} | ${r.coldMs} | ${r.warmMedianMs} |`);
  const file = path.join(ROOT, "bench/out", `query-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ events: N, seed: SEED, rows }, null, 2));
  console.log(`\nwritten to ${path.relative(ROOT, file)}`);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

await main();
