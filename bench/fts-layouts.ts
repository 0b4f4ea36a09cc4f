/**
 * Candidates for the FTS table's bytes per event (issue 16 §2, disk): the same prepared rows of the seeded
 * mixed corpus (bench/lib/corpus.ts, as bench/index-writer.ts makes them) inserted into fresh FTS5 tables
 * of each layout, one day slice's worth per file, in the writer's batches and rowid order; bytes from
 * SQLite's dbstat as the writer leaves them, and again after FTS5's 'optimize' (every table's segments
 * merged into one b-tree, as a sealed slice could be once its day is over). Writes bench/out/fts-layouts/.
 *
 *   npm run bench:fts-layouts -- [--events 200000]
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { FTS_OPTIONS as FTS, insertPrepared, preparedDay } from "./lib/prepared-day";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "200000" } } });
const N = Number(args.events);
const dir = path.resolve(import.meta.dirname, "out/fts-layouts");

/** One candidate: its tables, and how one prepared row (rowid, event text, field tokens) goes into them. */
interface Layout {
  name: string;
  ddl: string;
  writer(db: Database.Database): (rowid: number, raw: string, f: string) => void;
}
/** A layout of one FTS table whose columns get `values` of the text and the field tokens. */
function oneTable(name: string, columns: string, options: string, values: (raw: string, f: string) => string[]): Layout {
  const cols = columns.split(", ");
  return {
    name,
    ddl: `CREATE VIRTUAL TABLE fts USING fts5(${columns}, ${options}${FTS})`,
    writer: (db) => {
      const ins = db.prepare(`INSERT INTO fts (rowid, ${columns}) VALUES (?, ${cols.map(() => "?").join(", ")})`);
      return (rowid, raw, f) => void ins.run(rowid, ...values(raw, f));
    },
  };
}
const noExists = (f: string) => f.split(" ").filter((t) => !t.startsWith("x")).join(" ");
const layouts: Layout[] = [
  oneTable("today: fts5(raw, f), detail=full", "raw, f", "", (r, f) => [r, f]),
  oneTable("one column: text then field tokens", "raw", "", (r, f) => [`${r} ${f}`]),
  oneTable("one column: field tokens then text", "raw", "", (r, f) => [`${f} ${r}`]),
  oneTable("fts5(raw, f), detail=column", "raw, f", "detail=column, ", (r, f) => [r, f]),
  oneTable("text only (no field tokens)", "raw", "", (r) => [r]),
  oneTable("fts5(raw, f) without exists tokens", "raw, f", "", (r, f) => [r, noExists(f)]),
  oneTable("one column, detail=none: text then field tokens", "raw", "detail=none, ", (r, f) => [`${r} ${f}`]),
  oneTable("one column, detail=none, without exists tokens", "raw", "detail=none, ", (r, f) => [`${r} ${noExists(f)}`]),
  oneTable("text only, detail=none", "raw", "detail=none, ", (r) => [r]),
  {
    name: "text fts5 detail=full + field tokens in a second fts5 detail=none",
    ddl: `CREATE VIRTUAL TABLE fts USING fts5(raw, ${FTS}); CREATE VIRTUAL TABLE ftsf USING fts5(f, detail=none, ${FTS})`,
    writer: (db) => {
      const text = db.prepare("INSERT INTO fts (rowid, raw) VALUES (?, ?)");
      const fields = db.prepare("INSERT INTO ftsf (rowid, f) VALUES (?, ?)");
      return (rowid, raw, f) => {
        text.run(rowid, raw);
        fields.run(rowid, f);
      };
    },
  },
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
  return { db, write: l.writer(db) };
});
let rawBytes = 0;
for (const batch of preparedDay(N)) {
  rawBytes += batch.rawBytes;
  for (const rows of batch.slices) for (const { db, write } of dbs) insertPrepared(db, rows, write);
}
console.log(`${N.toLocaleString()} events, raw ${(rawBytes / N).toFixed(1)} B/event`);
console.log("| layout | FTS B/event as written | after 'optimize' | optimize took |");
console.log("|---|---|---|---|");
layouts.forEach((l, i) => {
  const { db } = dbs[i]!;
  db.pragma("wal_checkpoint(TRUNCATE)");
  const written = ftsBytes(db);
  const started = performance.now();
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").all() as { name: string }[]) {
    db.prepare(`INSERT INTO ${name} (${name}) VALUES ('optimize')`).run();
  }
  const took = performance.now() - started;
  db.pragma("wal_checkpoint(TRUNCATE)");
  console.log(`| ${l.name} | ${(written / N).toFixed(1)} | ${(ftsBytes(db) / N).toFixed(1)} | ${(took / 1000).toFixed(1)} s |`);
  db.close();
});
