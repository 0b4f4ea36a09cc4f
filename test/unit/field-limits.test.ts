import { describe, expect, it } from "vitest";
import type { RawRecord } from "../../packages/core/src/raw-record";
import { FIELD_LIMITS, FieldLimitReport } from "../../packages/core/src/process/field-limits";
import { readJson } from "../../packages/core/src/process/json-reader";
import { flattenFields, toEvent } from "../../packages/core/src/process/to-event";
import { seededRandom } from "../helpers/seeded";

const ID = "0190a5c0-0000-7000-8000-000000000000";

function record(raw: string, transport: RawRecord["transport"] = "https"): RawRecord {
  return { id: ID, tenant: "acme", receivedAt: Date.parse("2024-03-15T10:00:00Z"), transport, remote: "192.0.2.10", collector: "c1", tags: [], raw };
}

/** Random JSON values with strings that need escaping, nested a few levels. */
function randomJson(rnd: () => number, depth = 0): unknown {
  const r = rnd();
  if (depth > 5 || r < 0.35) {
    const k = Math.floor(rnd() * 6);
    if (k === 0) return Math.floor(rnd() * 1e6) / 100;
    if (k === 1) return rnd() < 0.5;
    if (k === 2) return null;
    return `s"\\]{[,:${Math.floor(rnd() * 1e9).toString(36)}\u00e9\n`;
  }
  if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 6) }, () => randomJson(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 8); i > 0; i--) o[`k{"${Math.floor(rnd() * 1e6)}`] = randomJson(rnd, depth + 1);
  return o;
}

/** Scalar values, nulls included: what readJson counts against the field limit. */
function scalars(v: unknown): number {
  if (v === null || typeof v !== "object") return 1;
  return (Array.isArray(v) ? v : Object.values(v)).reduce((n: number, x) => n + scalars(x), 0);
}

describe("readJson (bounded JSON.parse)", () => {
  it("gives exactly what JSON.parse gives for texts within the limits, and undefined for what is not JSON", () => {
    const rnd = seededRandom(5);
    let scanned = 0;
    for (let i = 0; i < 200; i++) {
      const value = { items: Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => randomJson(rnd)) };
      const text = JSON.stringify(value, null, i % 3 === 0 ? 2 : undefined);
      if (scalars(value) > FIELD_LIMITS.maxFields) continue;
      if (text.length > 4096) scanned++;
      const report = new FieldLimitReport();
      expect(readJson(text, report)).toEqual(JSON.parse(text));
      expect(report.fields()).toBeNull();
      for (const broken of [text.slice(0, -1), `${text}]`, `${text} x`, text.replace(/"/, "")]) {
        expect(readJson(broken, new FieldLimitReport()), broken.slice(0, 80)).toBeUndefined();
      }
    }
    expect(scanned).toBeGreaterThan(30);
  });

  it("cuts what is nested too deep and leaves out the values past the field limit, closing every container", () => {
    const report = new FieldLimitReport();
    const deep = `{"a":1,"d":${"[".repeat(30_000)}${"]".repeat(30_000)},"b":{"c":"x"}}`;
    const value = readJson(deep, report) as Record<string, unknown>;
    expect(value.a).toBe(1);
    expect(value.b).toEqual({ c: "x" });
    let d = value.d;
    let levels = 0;
    while (Array.isArray(d)) {
      d = d[0];
      levels++;
    }
    expect(levels).toBe(FIELD_LIMITS.maxDepth - 1);
    expect(d).toBeNull();
    expect(report.fields()).toEqual({ fieldsOmitted: 1, valuesTruncated: 0, limits: ["depth"] });

    const wide = new FieldLimitReport();
    const obj = { first: { inner: [1, 2, 3] }, ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) };
    const got = readJson(JSON.stringify(obj), wide) as Record<string, unknown>;
    expect(got.first).toEqual({ inner: [1, 2, 3] });
    expect(Object.keys(got)).toHaveLength(1 + FIELD_LIMITS.maxFields - 3);
    expect(wide.fields()).toEqual({ fieldsOmitted: 5000 - (FIELD_LIMITS.maxFields - 3), valuesTruncated: 0, limits: ["fields"] });
  });
});

describe("field limits of an event", () => {
  it("keeps the first 1,000 values of 70,000 JSON keys and says how many were left out", () => {
    const obj: Record<string, string> = { message: "wide event" };
    for (let i = 0; i < 70_000; i++) obj[`key_${i}`] = `v${i}`;
    const ev = toEvent(record(JSON.stringify(obj)));
    expect(ev.logtypes).toEqual(["json"]);
    expect(ev.event.json!.message).toBe("wide event");
    expect(ev.event.json!.key_0).toBe("v0");
    expect(ev.raw.length).toBeGreaterThan(1_000_000); // the text stays whole
    const flat = flattenFields(ev).filter(([p]) => p.startsWith("json.") || p.startsWith("http."));
    expect(flat).toHaveLength(FIELD_LIMITS.maxFields);
    expect(ev.event.unmeltable).toEqual({ fieldsOmitted: 70_001 - (FIELD_LIMITS.maxFields - 1), valuesTruncated: 0, limits: ["fields"] });
  });

  it("indexes JSON nested 20,000 levels deep up to the depth limit, flagged, and the event serialises", () => {
    const ev = toEvent(record(`{"marker":"deep","d":${'{"x":'.repeat(20_000)}1${"}".repeat(20_000)}}`));
    expect(ev.logtypes).toEqual(["json"]);
    expect(ev.event.json!.marker).toBe("deep");
    expect(ev.event.unmeltable).toMatchObject({ limits: ["depth"] });
    expect(() => JSON.stringify(ev)).not.toThrow();
    const paths = flattenFields(ev).map(([p]) => p);
    expect(paths).toContain("json.marker");
    expect(Math.max(...paths.map((p) => p.split(".").length))).toBeLessThanOrEqual(FIELD_LIMITS.maxDepth + 1);
  });

  it("leaves out over-long names, cuts over-long values, and caps syslog structured data too", () => {
    const long = "n".repeat(FIELD_LIMITS.maxNameLength + 1);
    const ev = toEvent(record(JSON.stringify({ [long]: { a: 1, b: 2 }, ok: 1, big: "v".repeat(FIELD_LIMITS.maxValueLength + 10) })));
    expect(Object.keys(ev.event.json!)).toEqual(["ok", "big"]);
    expect((ev.event.json!.big as string).length).toBe(FIELD_LIMITS.maxValueLength);
    expect(ev.event.unmeltable).toEqual({ fieldsOmitted: 2, valuesTruncated: 1, limits: ["name", "value"] });

    const params = Array.from({ length: 3000 }, (_, i) => `p${i}="${i}"`).join(" ");
    const sd = toEvent(record(`<13>1 2024-03-15T10:00:00Z h app - - [meta@1 ${params}] hello`, "tcp"));
    expect(sd.logmsg).toBe("hello");
    expect(flattenFields(sd).filter(([p]) => p.startsWith("syslog."))).toHaveLength(FIELD_LIMITS.maxFields);
    expect(sd.event.unmeltable).toMatchObject({ limits: ["fields"] });
  });

  it("adds nothing to an event within the limits", () => {
    const ev = toEvent(record('{"a":{"b":[1,2,{"c":"d"}]}}'));
    expect(ev.event).not.toHaveProperty("unmeltable");
  });
});
