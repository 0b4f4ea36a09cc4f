/**
 * An event's field tokens (packages/index-sqlite/src/field-tokens.ts) in both schemes. A slice's contentless
 * FTS table is told an event's tokens again when the event goes (a replay in place): the tokens must be
 * the same whatever the memo caches held, and whichever events came between.
 */
import { describe, expect, it } from "vitest";
import { existsToken, fieldTokens, keyedValuePrefix, keyedValueToken, MAX_TERM_KEY, valueToken } from "../../packages/index-sqlite/src/field-tokens";

type Fields = [string, string | number | boolean][];

const sample: Fields = [
  ["json.req.id", "R-1"],
  ["json.req.path", "/a"],
  ["json.level", "Error"],
  ["json.msg", "x".repeat(MAX_TERM_KEY + 1)],
  ["json.status", 500],
  ["json.code", "500"],
  ["json.when.timestamp", "2026-01-05T12:00:00Z"],
  ["json.tags", "a"],
  ["json.tags", "b"],
  ["tag", "prod"],
];

describe("field tokens", () => {
  it("keyed: a value token keyed by its path for each short value, exists tokens for objects and for leaves without one", () => {
    const tokens = fieldTokens(sample, "keyed").split(" ");
    expect(tokens).toEqual([
      existsToken("json.req"),
      existsToken("json"),
      keyedValueToken("json.req.id", "r-1"),
      keyedValueToken("json.req.path", "/a"),
      keyedValueToken("json.level", "error"),
      existsToken("json.msg"),
      keyedValueToken("json.status", "n:500"),
      keyedValueToken("json.code", "500"),
      existsToken("json.when.timestamp"),
      existsToken("json.when"),
      keyedValueToken("json.tags", "a"),
      keyedValueToken("json.tags", "b"),
      keyedValueToken("tag", "prod"),
    ]);
    // The values of one path share its prefix; 500 and "500" stay apart, "Error" and "error" meet.
    expect(keyedValueToken("json.status", "n:500").startsWith(keyedValuePrefix("json.status"))).toBe(true);
    expect(keyedValueToken("json.status", "n:500")).not.toBe(keyedValueToken("json.status", "500"));
    expect(fieldTokens([["json.level", "ERROR"]], "keyed")).toBe(fieldTokens([["json.level", "error"]], "keyed"));
  });

  it("exists: an exists token for every path and its ancestors, once, and the value tokens", () => {
    const tokens = fieldTokens(sample, "exists").split(" ");
    expect(tokens.filter((t) => t.startsWith("~x")).sort()).toEqual(
      ["json.req.id", "json.req", "json", "json.req.path", "json.level", "json.msg", "json.status", "json.code", "json.when.timestamp", "json.when", "json.tags", "tag"].map(existsToken).sort(),
    );
    expect(tokens.filter((t) => t.startsWith("~v"))).toEqual([valueToken("json.req.id", "r-1"), valueToken("json.req.path", "/a"), valueToken("json.level", "error"), valueToken("json.status", "n:500"), valueToken("json.code", "500"), valueToken("json.tags", "a"), valueToken("json.tags", "b"), valueToken("tag", "prod")]);
  });

  it("gives an event the same tokens whatever the caches held before it", () => {
    const first = { keyed: fieldTokens(sample, "keyed"), exists: fieldTokens(sample, "exists") };
    // More distinct paths and values than the caches keep, in events of their own and in one big event.
    const many: Fields = Array.from({ length: 12_000 }, (_, i) => [`json.k${i}.v`, `value ${i}`]);
    const values: Fields = Array.from({ length: 110_000 }, (_, i) => ["json.id", `id-${i}`]);
    const big = fieldTokens(many, "keyed");
    expect(fieldTokens(many, "keyed")).toBe(big);
    fieldTokens(values, "exists");
    for (const [path, value] of many.slice(0, 3000)) fieldTokens([[path, value], ...sample], "keyed");
    expect({ keyed: fieldTokens(sample, "keyed"), exists: fieldTokens(sample, "exists") }).toEqual(first);
    // The big event's own ancestors appear once, though its paths outgrew the cache during the call.
    expect(big.split(" ").filter((t) => t === existsToken("json")).length).toBe(1);
  });
});
