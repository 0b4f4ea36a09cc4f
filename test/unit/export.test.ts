import { describe, expect, it } from "vitest";
import { collectExport, type ExportPlan } from "../../packages/api/src/index";

const planOf = (chunks: string[]): ExportPlan => ({
  contentType: "application/x-ndjson",
  filename: "f.ndjson",
  matched: 0,
  limit: 10,
  async *chunks() {
    yield* chunks;
  },
});

describe("an export in one bounded body (for servers that cannot stream)", () => {
  it("keeps every chunk that fits and says it was not cut", async () => {
    expect(await collectExport(planOf(["a\nb\n", "cc\n"]), 7)).toEqual({ body: "a\nb\ncc\n", truncated: false });
  });

  it("cuts at the last whole line that fits, never inside a line or a character", async () => {
    expect(await collectExport(planOf(["a\nb\n", "ccc\ndd\n", "e\n"]), 8)).toEqual({ body: "a\nb\nccc\n", truncated: true });
    expect(await collectExport(planOf(["a\n", "ccc\n"]), 4)).toEqual({ body: "a\n", truncated: true });
    // "é" is two bytes: a limit that falls between them keeps the line before it.
    expect(await collectExport(planOf(["x\n", "é\n"]), 3)).toEqual({ body: "x\n", truncated: true });
  });
});
