import { it } from "vitest";
import { matchesEvent, parseQuery, type LogEvent } from "@unmeltable/core";
it("print", () => {
    const ev = (id: string, json: Record<string, unknown>): LogEvent => ({ id, timestamp: 1_700_000_000_000 + Number(id.slice(1)), receivedAt: 0, tenant: "t", tags: [], logtypes: ["json"], raw: JSON.stringify(json), logmsg: "", unparsed: null, event: { json: json as never } });
    const events = [
      ev("x1", { v: 500, w: ["a", 7], s: "1e999", d: { "a.b": "X" } }),
      ev("x2", { v: "500", w: [3, 9], s: "Zebra", d: { a: { b: "y" } } }),
      ev("x3", { v: "0500", w: "b", s: "zebra", n: -0.5 }),
      ev("x4", { v: -2, w: true, s: "", n: 0 }),
      ev("x5", { v: "n/a", w: null, s: "日本", n: -1e-300 }),
    ];
    const queries = [
      "json.v:500", "json.v:0500", "json.v:5e2", "json.v:>=500", "json.v:<0", "json.v:[0 TO 600]", "json.v:>m", "json.v:[200 TO n/z]", "json.v:\"500\"",
      "json.w:>5", "json.w:[a TO c]", "json.w:true", "json.w:TRUE", "json.w:*", "json.s:>1e300", "json.s:<a", "json.s:>=Z", "json.s:zebra", "json.s:z*",
      "json.s:>=\"\"", "json.s:*", "json.d.a.b:x", "json.d:*", "json.n:<0", "json.n:>=0", "json.n:[-1 TO -1e-301]", "json.n:0", "json.n:-0",
      "timestamp:1700000000003", "timestamp:>1700000000002.5", "timestamp:<=1.7e12", "timestamp:170000000000?", "timestamp:>=2024", "id:X?", "id:>x3",
    ];
    for (const text of queries) { const q = parseQuery(text); console.log(text.padEnd(30), JSON.stringify(q).slice(0,80).padEnd(82), events.filter((e) => matchesEvent(q, e)).map((e) => e.id).join(",")); }
});
