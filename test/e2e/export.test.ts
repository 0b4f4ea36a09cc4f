import { randomUUID } from "node:crypto";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiEvent } from "@unmeltable/core";
import { cli, endProgram, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * GET /apiv2/events/export through the real program: the search's events as NDJSON or CSV, streamed page
 * by page (more events than one index page holds), bounded by `limit`. The CSV is read back by a real CSV
 * parser (csv-parse), so quoting is checked by someone else's reading of RFC 4180, not ours.
 */
describe("exporting a search's events, through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let other: TenantTokens;
  const marker = `x${randomUUID().slice(0, 8)}`;
  const N = 1203; // more than two of the export's 500-event pages
  const t0 = Date.now() - 30 * 60_000;
  // Texts a CSV writer gets wrong: separators, quotes, line breaks, a formula, a negative number, non-ASCII.
  const awkward = ['a "quoted", comma', "two\nlines\r\nthree", "=HYPERLINK(\"http://evil.example\")", "-42", "-not a number", "@sum", "ünïcødé ✓"];

  const exportOf = (params: Record<string, string>, token = def.apiToken) =>
    fetch(program.url(`/apiv2/events/export?${new URLSearchParams({ q: marker, from: "-2h", until: "now", ...params }).toString()}`), { headers: { Authorization: `bearer ${token}` } });

  beforeAll(async () => {
    ({ program, tokens: def } = await startWithTokens());
    other = JSON.parse(await cli(["tenants", "add", "other", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    const lines = Array.from({ length: N }, (_, i) =>
      JSON.stringify({
        timestamp: new Date(t0 + i * 1000).toISOString(),
        message: `${marker} event ${i} ${awkward[i % awkward.length]}`,
        level: i % 10 === 0 ? "error" : "info",
        user: { id: i, name: awkward[i % awkward.length] },
        tags: ["a", "b"],
      }),
    );
    for (let i = 0; i < lines.length; i += 400) {
      const res = await fetch(program.url(`/bulk/${def.ingestToken}/tag/export`), { method: "POST", body: lines.slice(i, i + 400).join("\n") });
      expect(res.status).toBe(200);
    }
    await waitFor(
      "every event searchable",
      async () => {
        const res = await fetch(program.url(`/apiv2/events/count?q=${marker}&from=-2h`), { headers: { Authorization: `bearer ${def.apiToken}` } });
        return ((await res.json()) as { count: number }).count === N;
      },
      120_000,
    );
  });

  afterAll(async () => {
    await endProgram(program);
  });

  it("writes NDJSON: every event once, newest first, as the API returns events, named as a file to save", async () => {
    const res = await exportOf({ format: "ndjson" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="default-events-[\dT-]+\.ndjson"$/);
    expect(res.headers.get("x-unmeltable-matched")).toBe(String(N));
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const events = text.trimEnd().split("\n").map((l) => JSON.parse(l) as ApiEvent);
    expect(events).toHaveLength(N);
    expect(new Set(events.map((e) => e.id)).size).toBe(N);
    expect(events.map((e) => e.timestamp)).toEqual(events.map((e) => e.timestamp).sort((a, b) => b - a));
    expect(events[0]!.event.json).toMatchObject({ message: `${marker} event ${N - 1} ${awkward[(N - 1) % awkward.length]}`, user: { id: N - 1 } });
    expect(Object.keys(events[0]!).sort()).toEqual(["event", "id", "logmsg", "logtypes", "raw", "tags", "timestamp", "unparsed"]);
  });

  it("writes CSV that a CSV parser reads back exactly, with the fields asked for, and defuses formulas", async () => {
    const res = await exportOf({ format: "csv", fields: "json.level,json.user.id,json.user.name,json.message,tags,json.missing", order: "asc" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const rows = parse(await res.text(), { relaxColumnCount: false }) as string[][];
    expect(rows[0]).toEqual(["timestamp", "json.level", "json.user.id", "json.user.name", "json.message", "tags", "json.missing"]);
    expect(rows).toHaveLength(N + 1);
    for (const i of [0, 1, 2, 3, 4, 5, 6, 700, N - 1]) {
      const row = rows[i + 1]!;
      const text = awkward[i % awkward.length]!;
      // What a spreadsheet would run is written with a leading quote; everything else exactly as sent.
      const shown = /^[=@]/.test(text) || (text.startsWith("-") && Number.isNaN(Number(text))) ? `'${text}` : text;
      expect(row).toEqual([new Date(t0 + i * 1000).toISOString(), i % 10 === 0 ? "error" : "info", String(i), shown, `${marker} event ${i} ${text}`, '["export"]', ""]);
    }
  });

  it("stops at `limit`, and says how many the search matched", async () => {
    const res = await exportOf({ format: "csv", limit: "100" });
    expect(res.headers.get("x-unmeltable-matched")).toBe(String(N));
    expect(res.headers.get("x-unmeltable-export-limit")).toBe("100");
    const rows = parse(await res.text()) as string[][];
    expect(rows[0]).toEqual(["timestamp", "id", "tags", "logtypes", "logmsg"]);
    expect(rows).toHaveLength(101);
    // The newest hundred.
    expect(rows[1]![0]).toBe(new Date(t0 + (N - 1) * 1000).toISOString());
    expect(rows[100]![0]).toBe(new Date(t0 + (N - 100) * 1000).toISOString());
  });

  it("answers bad parameters with a 400 before writing anything, and strangers with a 401; a tenant exports only its own events", async () => {
    for (const [params, message] of [
      [{ format: "xml" }, /format must be csv or ndjson/],
      [{ format: "csv", fields: "json.level,a b" }, /is not a field name/],
      [{ limit: "0" }, /limit must be an integer >= 1/],
      [{ order: "sideways" }, /order must be asc or desc/],
      [{ q: "json.level:(error" }, /query syntax error/],
      [{ from: "yesterday" }, /invalid time/],
    ] as const) {
      const res = await exportOf(params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(((await res.json()) as { message: string }).message).toMatch(message);
    }
    expect((await exportOf({}, "nope")).status).toBe(401);
    const theirs = await exportOf({ format: "ndjson" }, other.apiToken);
    expect(theirs.headers.get("x-unmeltable-matched")).toBe("0");
    expect(await theirs.text()).toBe("");
    // A limit over the maximum is clamped, as every API size is.
    expect((await exportOf({ limit: "99999999999" })).headers.get("x-unmeltable-export-limit")).toBe("100000");
  });

  it("lets go of an export its reader abandons, and keeps serving", async () => {
    for (let i = 0; i < 4; i++) {
      const ctl = new AbortController();
      const res = await fetch(program.url(`/apiv2/events/export?q=${marker}&from=-2h&format=ndjson`), { headers: { Authorization: `bearer ${def.apiToken}` }, signal: ctl.signal });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      ctl.abort();
      await reader.cancel().catch(() => undefined);
    }
    // Abandoned exports do not count against the tenant's two at a time: this one runs to the end.
    const whole = await waitFor("an export that is not refused", async () => {
      const res = await exportOf({ format: "ndjson" });
      return res.status === 200 ? res.text() : (await res.body?.cancel(), undefined);
    });
    expect(whole.trimEnd().split("\n")).toHaveLength(N);
    expect(program.child.exitCode).toBeNull();
  });
});
