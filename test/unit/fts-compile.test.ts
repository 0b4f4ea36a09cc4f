/**
 * How queries become FTS5 expressions in each slice layout (packages/index-sqlite/src/fts-compile.ts). What
 * they find is proven against the reference semantics in test/integration/index-fts-layouts.test.ts; these
 * cases pin the choices made for speed, which no result shows.
 */
import { describe, expect, it } from "vitest";
import { parseQuery } from "@unmeltable/core";
import { compileFts } from "@unmeltable/index-sqlite";
import { existsToken, keyedValuePrefix } from "../../packages/index-sqlite/src/field-tokens";

const plan = (q: string, layout: "keyed" | "one" | "two" = "keyed") => compileFts(parseQuery(q), layout);

describe("compileFts", () => {
  it("answers a field's existence in a keyed slice from its exists token or any of its value tokens", () => {
    expect(plan("json.status:*")).toEqual({ expr: `("${existsToken("json.status")}" OR "${keyedValuePrefix("json.status")}" *)`, exact: true });
    expect(plan("json.status:*", "one")).toEqual({ expr: `"${existsToken("json.status")}"`, exact: true });
  });

  it("leaves a range's existence prefix out of an AND that has another condition (the candidates are checked)", () => {
    const both = plan("syslog.host:web-03 AND json.status:>=500");
    expect(both.exact).toBe(false);
    expect(both.expr).not.toContain("*");
    expect(both.expr).not.toContain(existsToken("json.status"));
    // Alone, the existence is all FTS can say; in the layouts before, an exists token is cheap and stays.
    expect(plan("json.status:>=500")).toMatchObject({ expr: expect.stringContaining(`"${keyedValuePrefix("json.status")}" *`), exact: false, prefilter: true });
    expect(plan("syslog.host:web-03 AND json.status:>=500", "one").expr).toContain(existsToken("json.status"));
    // An exact existence is a condition, not a pre-filter: it stays.
    expect(plan("syslog.host:web-03 AND json.status:*")).toMatchObject({ expr: expect.stringContaining(`"${keyedValuePrefix("json.status")}" *`), exact: true });
    // Two pre-filters and nothing else: kept, the AND is itself a pre-filter for an outer AND.
    expect(plan("json.a:>1 AND json.b:<2")).toMatchObject({ expr: expect.stringContaining(keyedValuePrefix("json.b")), prefilter: true });
    expect(plan("web AND (json.a:>1 AND json.b:<2)").expr).not.toContain("*");
  });
});
