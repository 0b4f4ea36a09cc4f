/**
 * Candidates for the FTS table's bytes per event (issue 16 §2, disk): the same prepared rows of the seeded
 * mixed corpus (bench/lib/corpus.ts, as bench/index-writer.ts makes them) inserted into fresh FTS5 tables
 * of each layout, one day slice's worth per file, in the writer's batches and rowid order; bytes from
 * SQLite's dbstat (no 'optimize' merge, as the writer never runs one). Writes bench/out/fts-layouts/.
 *
 *   npm run bench:fts-layouts -- [--events 200000]
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { newEventId, toEvent } from "@unmeltable/core";
import { prepareWrite } from "@unmeltable/index-sqlite";
import { Corpus, rfc5424 } from "./lib/corpus";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "200000" } } });
const N = Number(args.events);
const BATCH = 5000;
const SPAN = 24 * 3_600_000;
const END = Date.UTC(2024, 2, 18, 0, 0, 0);
const START = END - SPAN;
const dir = path.resolve(import.meta.dirname, "out/fts-layouts");

interface Layout {
  name: string;
  ddl: string;
  insert: string;
  /** The values bound after the rowid, from the text and the field tokens. */
  values(raw: string, f: string): string[];
}
const noExists = (f: string) => f.split(" ").filter((t) => !t.startsWith("x")).join(" ");
const layouts: Layout[] = [
  { name: "today: fts5(raw, f), detail=full", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, f, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw, f) VALUES (?, ?, ?)", values: (r, f) => [r, f] },
  { name: "one column: text then field tokens", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw) VALUES (?, ?)", values: (r, f) => [`${r} ${f}`] },
  { name: "one column: field tokens then text", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw) VALUES (?, ?)", values: (r, f) => [`${f} ${r}`] },
  { name: "fts5(raw, f), detail=column", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, f, content='', columnsize=0, detail=column, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw, f) VALUES (?, ?, ?)", values: (r, f) => [r, f] },
  { name: "text only (no field tokens)", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw) VALUES (?, ?)", values: (r) => [r] },
  { name: "fts5(raw, f) without exists tokens", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, f, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2')", insert: "INSERT INTO fts (rowid, raw, f) VALUES (?, ?, ?)", values: (r, f) => [r, noExists(f)] },
  { name: "text fts5 detail=full + field tokens in a second fts5 detail=none", ddl: "CREATE VIRTUAL TABLE fts USING fts5(raw, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'); CREATE VIRTUAL TABLE ftsf USING fts5(f, content='', columnsize=0, detail=none, tokenize='unicode61 remove_diacritics 2')", insert: "", values: () => [] },
];

function ftsBytes(db: Database.Database): number {
  return (db.prepare("SELECT sum(pgsize) AS b FROM dbstat WHERE name LIKE 'fts%'").get() as { b: number }).b;
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const dbs = layouts.map((l, i) => {
  const db = new Database(path.join(dir, `${i}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.exec(l.ddl);
  return db;
});
const corpus = new Corpus(1);
let rawBytes = 0;
for (let i = 0; i < N; i += BATCH) {
  const docs: string[] = [];
  for (let k = i; k < Math.min(N, i + BATCH); k++) {
    const at = START + Math.floor((k / N) * SPAN) - (k % 7) * 300;
    const raw = rfc5424(corpus.next(new Date(at)), undefined, new Date(at));
    rawBytes += Buffer.byteLength(raw);
    docs.push(JSON.stringify(toEvent({ id: newEventId(at), tenant: "t", receivedAt: at, transport: "tcp", remote: "10.0.0.1", collector: "bench", tags: ["bench"], raw })));
  }
  const prepared = prepareWrite("t", docs, "day");
  for (const slice of prepared.slices) {
    const rows = slice.rows;
    layouts.forEach((l, li) => {
      const db = dbs[li]!;
      const two = l.insert === "";
      const ins = db.prepare(two ? "INSERT INTO fts (rowid, raw) VALUES (?, ?)" : l.insert);
      const insF = two ? db.prepare("INSERT INTO ftsf (rowid, f) VALUES (?, ?)") : undefined;
      let seq = 0;
      let last = -1;
      db.transaction(() => {
        for (let k = 0; k < rows.length; k += 7) {
          const ts = rows[k + 1] as number;
          seq = ts === last ? seq + 1 : 0;
          last = ts;
          const rowid = ts * 1000 + seq;
          if (two) {
            ins.run(rowid, rows[k + 3]);
            insF!.run(rowid, rows[k + 5]);
          } else ins.run(rowid, ...l.values(rows[k + 3] as string, rows[k + 5] as string));
        }
      })();
    });
  }
}
console.log(`${N.toLocaleString()} events, raw ${(rawBytes / N).toFixed(1)} B/event`);
layouts.forEach((l, i) => {
  dbs[i]!.pragma("wal_checkpoint(TRUNCATE)");
  console.log(`| ${l.name} | ${(ftsBytes(dbs[i]!) / N).toFixed(1)} |`);
  dbs[i]!.close();
});
