import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGet, cli, endProgram, run, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Derived fields through the real program: rules saved through `/apiv2/derivedfields`, previewed on the
 * tenant's recent events, then applied by the process stage (on its parse thread) to events sent over HTTP
 * and over syslog by `logger`; the fields are searched, ranged and faceted like any parsed field, only for
 * the tenant whose rules they are and only for events received after the rule was saved.
 */
describe("derived fields, through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let other: TenantTokens;
  const marker = `d${randomUUID().slice(0, 8)}`;

  const call = async (method: string, p: string, body?: unknown, token = def.apiToken) => {
    const res = await fetch(program.url(p), { method, headers: { Authorization: `bearer ${token}`, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several shapes, checked by the assertions
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const count = async (q: string, token = def.apiToken) => (await apiGet(program, `/apiv2/events/count?${new URLSearchParams({ q, from: "-1h" }).toString()}`, token)).body.count as number;
  const send = async (token: string, lines: string[], tag = "app") => {
    const res = await fetch(program.url(`/bulk/${token}/tag/${tag}`), { method: "POST", body: lines.join("\n") });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    ({ program, tokens: def } = await startWithTokens());
    other = JSON.parse(await cli(["tenants", "add", "other", "--data-dir", program.dataDir, "--json"])) as TenantTokens;
    // Before any rule: these stay as they were.
    await send(def.ingestToken, [`${marker} before GET /a took 700 ms for user=early`]);
    await waitFor("the first event searchable", async () => (await count(`${marker} AND before`)) === 1, 60_000);
  });

  afterAll(async () => {
    await endProgram(program);
  });

  const took = { name: "request time", type: "regex", pattern: "took (?<ms>\\d+) ms for user=(?<user>\\w+)" };

  it("previews a rule on the tenant's recent events before it is saved, and names what is wrong with one", async () => {
    const preview = await call("POST", "/apiv2/derivedfields/preview", { rule: { type: took.type, pattern: took.pattern }, query: marker });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ searched: 1, matched: 1, events: [{ fields: { ms: 700, user: "early" }, inScope: true }] });
    const bad = await call("POST", "/apiv2/derivedfields/preview", { rule: { type: "regex", pattern: "took (\\d+" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: "rule.pattern", message: expect.stringMatching(/RE2/) }]);
    expect((await call("POST", "/apiv2/derivedfields/preview", { rule: took, query: "a:(" })).status).toBe(400);
    expect((await call("POST", "/apiv2/derivedfields/preview", { rule: took, size: 1e9 })).status).toBe(400);
    expect((await call("GET", "/apiv2/derivedfields/preview")).status).toBe(405);
  });

  it("keeps rules per tenant: created, listed in order, validated, names unique, unknown ids 404", async () => {
    const created = await call("POST", "/apiv2/derivedfields", took);
    expect(created.status).toBe(201);
    expect(created.body.derivedfield).toMatchObject({ ...took, scope: {}, enabled: true, id: expect.any(String) });
    expect((await call("POST", "/apiv2/derivedfields", { name: "slow", type: "tag", pattern: "(?i)timed? ?out", addTag: "timeout" })).status).toBe(201);
    expect((await call("POST", "/apiv2/derivedfields", { name: "status", type: "keyvalue", key: "status_code", scope: { tag: "app" } })).status).toBe(201);
    const dup = await call("POST", "/apiv2/derivedfields", { ...took, name: "REQUEST TIME" });
    expect(dup.status).toBe(409);
    const invalid = await call("POST", "/apiv2/derivedfields", { name: "x", type: "regex", pattern: "no groups" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].field).toBe("pattern");
    expect((await call("GET", "/apiv2/derivedfields/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    expect((await call("GET", "/apiv2/derivedfields")).body.derivedfields.map((r: { name: string }) => r.name)).toEqual(["request time", "slow", "status"]);
    expect((await call("GET", "/apiv2/derivedfields", undefined, other.apiToken)).body.derivedfields).toEqual([]);
    expect((await call("GET", "/apiv2/derivedfields", undefined, "not-a-token")).status).toBe(401);
  });

  it("applies the rules to new events from HTTP and syslog: searchable, ranged, faceted, tagged; not to other tenants or older events", { timeout: 90_000 }, async () => {
    await send(def.ingestToken, [
      `${marker} after GET /b took 231 ms for user=alice status_code=200`,
      `${marker} after GET /c took 1200 ms for user=bob status_code=504 upstream timed out`,
      JSON.stringify({ message: `${marker} after json took 45 ms for user=alice` }),
    ]);
    await run("logger", ["-n", "127.0.0.1", "-P", String(program.syslogPort), "-T", "--octet-count", "--rfc5424", "--sd-id", `${def.ingestToken}@41058`, "--sd-param", 'tag="syslog"', `${marker} after syslog took 88 ms for user=carol status_code=201`]);
    await send(other.ingestToken, [`${marker} after GET /d took 999 ms for user=mallory`]);
    await waitFor("every event searchable", async () => (await count(`${marker} AND after`)) === 4 && (await count(marker, other.apiToken)) === 1, 45_000);

    expect(await count(`${marker} AND derived.user:alice`)).toBe(2);
    expect(await count(`${marker} AND derived.ms:>=200`)).toBe(2); // 231 and 1200, numbers; the "before" event has none
    expect(await count(`${marker} AND derived.ms:[40 TO 100]`)).toBe(2); // 45 (JSON message) and 88 (syslog)
    expect(await count(`${marker} AND tag:timeout`)).toBe(1);
    // Scoped to tag "app": the HTTP events are tagged so, the syslog one is not.
    expect(await count(`${marker} AND derived.status_code:*`)).toBe(2);
    expect(await count(`${marker} AND derived.status_code:504`)).toBe(1);
    expect(await count(`${marker} AND before AND derived.ms:*`)).toBe(0);
    expect(await count("derived.ms:*", other.apiToken)).toBe(0);

    const facet = await apiGet(program, `/apiv2/fields/derived.user/?${new URLSearchParams({ q: marker, from: "-1h" }).toString()}`, def.apiToken);
    expect(facet.status).toBe(200);
    expect(facet.body["derived.user"]).toEqual(
      expect.arrayContaining([
        { term: "alice", count: 2 },
        { term: "bob", count: 1 },
        { term: "carol", count: 1 },
      ]),
    );
    const events = await apiGet(program, `/apiv2/events/iterate?${new URLSearchParams({ q: `${marker} AND derived.user:bob`, from: "-1h" }).toString()}`, def.apiToken);
    expect((events.body.events as { event: Record<string, unknown>; tags: string[] }[])[0]).toMatchObject({ event: { derived: { ms: 1200, user: "bob", status_code: 504 } }, tags: expect.arrayContaining(["app", "timeout"]) });
  });

  it("stops applying a rule once it is disabled or deleted", async () => {
    const rules = (await call("GET", "/apiv2/derivedfields")).body.derivedfields as { id: string; name: string }[];
    const id = (n: string) => rules.find((r) => r.name === n)!.id;
    expect((await call("PUT", `/apiv2/derivedfields/${id("request time")}`, { enabled: false })).body.derivedfield.enabled).toBe(false);
    expect((await call("DELETE", `/apiv2/derivedfields/${id("slow")}`)).status).toBe(200);
    await send(def.ingestToken, [`${marker} later took 5 ms for user=dave timed out status_code=200`]);
    await waitFor("the later event searchable", async () => (await count(`${marker} AND later`)) === 1, 60_000);
    expect(await count(`${marker} AND later AND derived.user:*`)).toBe(0);
    expect(await count(`${marker} AND later AND tag:timeout`)).toBe(0);
    expect(await count(`${marker} AND later AND derived.status_code:200`)).toBe(1);
  });

  it("applies today's rules to archived days with `replay --rederive`, storing those events again in place (no duplicates)", { timeout: 120_000 }, async () => {
    const rules = (await call("GET", "/apiv2/derivedfields")).body.derivedfields as { id: string; name: string }[];
    const took = rules.find((r) => r.name === "request time")!;
    expect((await call("PUT", `/apiv2/derivedfields/${took.id}`, { enabled: true })).status).toBe(200);
    const total = await count(marker);
    expect(await count(`${marker} AND derived.user:early`)).toBe(0);
    expect(await count(`${marker} AND later AND derived.user:dave`)).toBe(0);

    // Beside the running server, as an operator would: archive today, then replay it with the rules as they are now.
    await cli(["archive", "--day", new Date().toISOString().slice(0, 10), "--data-dir", program.dataDir]);
    await cli(["replay", "--tenant", "default", "--from", "-1h", "--data-dir", program.dataDir, "--rederive"]);

    expect(await count(marker)).toBe(total);
    expect(await count(`${marker} AND derived.user:early AND derived.ms:700`)).toBe(1);
    expect(await count(`${marker} AND later AND derived.user:dave`)).toBe(1);
    // The deleted "slow" rule no longer tags; what it tagged when it existed is stored again without it.
    expect(await count(`${marker} AND tag:timeout`)).toBe(0);
    expect(await count(`${marker} AND derived.ms:*`, other.apiToken)).toBe(0);
  });
});
