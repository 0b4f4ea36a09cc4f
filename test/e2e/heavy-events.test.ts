import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endProgram, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Events built to be expensive to parse and index: JSON with 70,000 keys, JSON nested 20,000 levels deep.
 * They are answered 200 like any event, so they must also become searchable (with their fields capped),
 * not fail somewhere after the answer.
 */

interface ApiEvent {
  logtypes: string[];
  event: { json?: Record<string, unknown>; unmeltable?: { fieldsOmitted: number; limits: string[] } };
}

describe("heavy JSON events over HTTP", () => {
  let program: Program;
  let tokens: TenantTokens;

  beforeAll(async () => {
    ({ program, tokens } = await startWithTokens());
  });
  afterAll(() => endProgram(program));

  const api = async (p: string, q: string) => {
    const res = await fetch(program.url(`${p}?q=${encodeURIComponent(q)}&from=-1h&until=now&size=1`), { headers: { authorization: `bearer ${tokens.apiToken}` } });
    expect(res.status).toBe(200);
    return res.json() as Promise<unknown>;
  };
  // Counts, not events: each event carries its ~1 MB text, an answer with all of them would be 40 MB.
  const count = async (q: string) => ((await api("/apiv2/events/count", q)) as { count: number }).count;
  const first = async (q: string) => ((await api("/apiv2/events/iterate", q)) as { events: ApiEvent[] }).events[0];

  it("indexes bodies of about 1 MB with 70,000 keys each and one nested 20,000 levels deep, fields capped and flagged", async () => {
    const m = randomUUID();
    // The tenant's slice first: a query that meets a slice file the writer is still creating answers 500
    // ("no such table: events", index-sqlite), which is not what this test is about.
    await fetch(program.url(`/inputs/${tokens.ingestToken}/tag/warmup`), { method: "POST", body: `warmup ${m}` });
    await waitFor("the tenant's slice", async () => {
      const res = await fetch(program.url(`/apiv2/events/count?q=tag:warmup&from=-1h&until=now`), { headers: { authorization: `bearer ${tokens.apiToken}` } });
      return res.status === 200 && ((await res.json()) as { count: number }).count === 1;
    });
    // 8 here (bench/heavy-json.ts sends 20 and measures the stall): enough to show they all get through.
    const WIDE = 8;
    const wide = (n: number) => {
      const parts = [`"marker":"${m}-${n}"`];
      for (let i = 0; i < 70_000; i++) parts.push(`"${i.toString(36)}":${i % 10}`);
      parts.push(`"tail":"${m}-tail-${n}"`);
      return `{${parts.join(",")}}`;
    };
    const deep = `{"marker":"${m}-deep","d":${'{"x":'.repeat(20_000)}"bottom-${m}"${"}".repeat(20_000)}}`;
    const bodies = [...Array.from({ length: WIDE }, (_, n) => wide(n)), deep];
    expect(Buffer.byteLength(bodies[0]!)).toBeGreaterThan(500_000);
    const answers = await Promise.all(bodies.map((body) => fetch(program.url(`/inputs/${tokens.ingestToken}/tag/heavy`), { method: "POST", body, headers: { "content-type": "application/json" } })));
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));

    await waitFor("all events searchable by a kept field", async () => (await count(`tag:heavy AND json.marker:${m}*`)) === WIDE + 1, 60_000);
    expect(await count(`tag:heavy AND logtype:json AND json.marker:${m}*`)).toBe(WIDE + 1);
    expect(await count(`unmeltable.limits:fields AND json.marker:${m}*`)).toBe(WIDE);
    expect(await count(`unmeltable.fieldsOmitted:>69000 AND json.marker:${m}*`)).toBe(WIDE);
    const deepEvent = await first(`unmeltable.limits:depth AND json.marker:"${m}-deep"`);
    expect(deepEvent!.event.json!.marker).toBe(`${m}-deep`);
    // The first keys are fields; the keys past the limit are not, but their text is kept and found as text.
    expect(await count(`json.marker:"${m}-3" AND json.a:0`)).toBe(1);
    expect(await count(`json.tail:"${m}-tail-3"`)).toBe(0);
    expect(await count(`"${m}-tail-3"`)).toBe(1);
    expect(await count(`"bottom-${m}"`)).toBe(1);
  });
});
