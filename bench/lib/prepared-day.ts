/**
 * What the FTS benches insert (bench/fts-layouts.ts, bench/fts-automerge.ts): one day of the seeded mixed
 * corpus (corpus.ts, as bench/index-writer.ts makes it), prepared by the index writer's own prepareWrite in
 * its batches of 5,000, and each slice's rows inserted in rowid order with the writer's rowids.
 */
import type Database from "better-sqlite3";
import { newEventId, toEvent } from "@unmeltable/core";
import { prepareWrite } from "@unmeltable/index-sqlite";
import { Corpus, rfc5424 } from "./corpus";

const BATCH = 5000;
const SPAN = 24 * 3_600_000;
const END = Date.UTC(2024, 2, 18, 0, 0, 0);
const START = END - SPAN;

/** The FTS5 options of the slices' table (index-sqlite/src/schema.ts), for candidate tables. */
export const FTS_OPTIONS = "content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'";

/** `n` events over one day, batch by batch: the prepared rows of each slice the batch touches, and its raw lines' bytes. */
export function* preparedDay(n: number): Generator<{ slices: (string | number)[][]; rawBytes: number }> {
  const corpus = new Corpus(1);
  for (let i = 0; i < n; i += BATCH) {
    const docs: string[] = [];
    let rawBytes = 0;
    for (let k = i; k < Math.min(n, i + BATCH); k++) {
      // Up to 2 s of arrival jitter, as events arrive slightly out of time order.
      const at = START + Math.floor((k / n) * SPAN) - (k % 7) * 300;
      const raw = rfc5424(corpus.next(new Date(at)), undefined, new Date(at));
      rawBytes += Buffer.byteLength(raw);
      docs.push(JSON.stringify(toEvent({ id: newEventId(at), tenant: "t", receivedAt: at, transport: "tcp", remote: "10.0.0.1", collector: "bench", tags: ["bench"], raw })));
    }
    yield { slices: prepareWrite("t", docs, "day").slices.map((s) => s.rows), rawBytes };
  }
}

/** Inserts one slice's prepared rows in one transaction: `write(rowid, event text, field tokens)`, rowids as the writer makes them (time × 1000 + sequence). */
export function insertPrepared(db: Database.Database, rows: (string | number)[], write: (rowid: number, raw: string, f: string) => void): void {
  let seq = 0;
  let last = -1;
  db.transaction(() => {
    for (let k = 0; k < rows.length; k += 7) {
      const ts = rows[k + 1] as number;
      seq = ts === last ? seq + 1 : 0;
      last = ts;
      write(ts * 1000 + seq, rows[k + 3] as string, rows[k + 5] as string);
    }
  })();
}
