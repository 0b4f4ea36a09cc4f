/**
 * The slices' FTS5 `automerge` (schema.ts FTS_AUTOMERGE): set in every slice the writer makes, and in a slice
 * made before (with FTS5's default) the next time the writer opens it; events written before and after stay
 * searchable. The setting lives in the slice's own fts_config table.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { parseQuery } from "@unmeltable/core";
import { IndexReader, IndexWriter, sliceFor } from "@unmeltable/index-sqlite";
import { FTS_AUTOMERGE } from "../../packages/index-sqlite/src/schema";
import { makeEvent } from "../contract/index.contract";

const BASE = Date.UTC(2026, 9, 1, 12, 0, 0);
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const automergeOf = (file: string): unknown => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT v FROM fts_config WHERE k = 'automerge'").pluck().get();
  } finally {
    db.close();
  }
};

const write = (logmsgs: string[]) => {
  const writer = new IndexWriter(dir, () => "day");
  try {
    const results = writer.write("acme", logmsgs.map((logmsg, i) => JSON.stringify(makeEvent("acme", BASE + i, { logmsg, raw: `hello ${logmsg}` }))));
    expect(results.every((r) => r.status === "created")).toBe(true);
  } finally {
    writer.close();
  }
};

describe("the slices' FTS5 automerge", () => {
  it("is set in a new slice, and in an older slice once the writer opens it again; its events stay searchable", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-automerge-"));
    expect(FTS_AUTOMERGE).toBeGreaterThan(4);
    write(["first", "second"]);
    const file = path.join(dir, "acme", `${sliceFor(BASE, "day").name}.db`);
    expect(automergeOf(file)).toBe(FTS_AUTOMERGE);

    // A slice as made before the setting: FTS5's default, 4 (its config table can only be written through FTS5's commands).
    const old = new Database(file);
    old.exec("INSERT INTO fts (fts, rank) VALUES ('automerge', 4)");
    old.close();
    expect(automergeOf(file)).toBe(4);

    write(["third"]);
    expect(automergeOf(file)).toBe(FTS_AUTOMERGE);
    const reader = new IndexReader(dir);
    try {
      const range = { from: BASE - 1000, until: BASE + 1000 };
      expect(reader.count({ tenant: "acme", query: parseQuery("hello"), ...range })).toBe(3);
      expect(reader.count({ tenant: "acme", query: parseQuery("first OR third"), ...range })).toBe(2);
    } finally {
      reader.close();
    }
  });
});
