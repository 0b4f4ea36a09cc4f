/**
 * FTS5's `automerge` for the slices (schema.ts FTS_AUTOMERGE), measured: the writer's prepared rows of the
 * seeded corpus (one day slice, batches of 5,000 in rowid order: lib/prepared-day.ts) inserted into one
 * fresh FTS table per setting, the insert CPU per event, the segments and bytes left, then the median of 15
 * runs of each query shape the reader compiles to (newest 100 of a rare term, of a common term, of a field
 * token, of a field AND a term; a count of a common term). Files in bench/out/fts-automerge/.
 *
 *   npm run bench:fts-automerge -- [--events 1000000]
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { FTS_OPTIONS, insertPrepared, preparedDay } from "./lib/prepared-day";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "1000000" } } });
const N = Number(args.events);
const SETTINGS = [4, 8, 16];
const dir = path.resolve(import.meta.dirname, "out/fts-automerge");

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const tables = SETTINGS.map((automerge) => {
  const db = new Database(path.join(dir, `${automerge}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`CREATE VIRTUAL TABLE fts USING fts5(raw, f, ${FTS_OPTIONS})`);
  db.exec(`INSERT INTO fts (fts, rank) VALUES ('automerge', ${automerge})`);
  return { automerge, db, insert: db.prepare("INSERT INTO fts (rowid, raw, f) VALUES (?, ?, ?)"), cpuMicros: 0 };
});

for (const { slices } of preparedDay(N)) {
  for (const rows of slices) {
    for (const t of tables) {
      const before = process.cpuUsage();
      insertPrepared(t.db, rows, (rowid, raw, f) => void t.insert.run(rowid, raw, f));
      const used = process.cpuUsage(before);
      t.cpuMicros += used.user + used.system;
    }
  }
}

// Terms picked from the data: a common one (~5 % of events), a rare one (5-20 events), a field value token.
const vocab = tables[0]!.db;
vocab.exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, 'row')");
const terms = vocab.prepare("SELECT term, doc FROM temp.vocab WHERE term NOT GLOB '[xv]*' ORDER BY doc DESC").all() as { term: string; doc: number }[];
const common = terms.find((t) => t.doc < N * 0.06)!;
const rare = terms.find((t) => t.doc <= 20 && t.doc >= 5)!;
const field = vocab.prepare("SELECT term, doc FROM temp.vocab WHERE term GLOB 'v*' AND doc < ? ORDER BY doc DESC LIMIT 1").get(N * 0.05) as { term: string; doc: number };
console.log(`${N.toLocaleString()} events; terms: common "${common.term}" (${common.doc}), rare "${rare.term}" (${rare.doc}), field token (${field.doc})`);
console.log("| automerge | insert CPU µs/event | segments | FTS B/event | rare newest 100 | common newest 100 | field newest 100 | field AND common newest 100 | common count |");
console.log("|---|---|---|---|---|---|---|---|---|");
const NEWEST = "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid DESC LIMIT 100";
const COUNT = "SELECT count(*) FROM fts WHERE fts MATCH ?";
for (const t of tables) {
  t.db.pragma("wal_checkpoint(TRUNCATE)");
  const median = (sql: string, match: string): string => {
    const statement = t.db.prepare(sql);
    statement.all(match);
    const ms: number[] = [];
    for (let r = 0; r < 15; r++) {
      const started = process.hrtime.bigint();
      statement.all(match);
      ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return `${ms.sort((a, b) => a - b)[7]!.toFixed(2)} ms`;
  };
  const segments = (t.db.prepare("SELECT count(DISTINCT segid) AS n FROM fts_idx").get() as { n: number }).n;
  const bytes = (t.db.prepare("SELECT sum(pgsize) AS b FROM dbstat WHERE name LIKE 'fts%'").get() as { b: number }).b;
  console.log(
    `| ${t.automerge} | ${(t.cpuMicros / N).toFixed(1)} | ${segments} | ${(bytes / N).toFixed(1)} | ${median(NEWEST, rare.term)} | ${median(NEWEST, common.term)} | ${median(NEWEST, `f:${field.term}`)} | ${median(NEWEST, `f:${field.term} AND ${common.term}`)} | ${median(COUNT, common.term)} |`,
  );
  t.db.close();
}
