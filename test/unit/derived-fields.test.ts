import { describe, expect, it } from "vitest";
import {
  applyDerivedRules,
  CachedRuleSource,
  compileRule,
  DERIVED_LIMITS,
  encodeRawBatch,
  parseRawRecords,
  RuleBudget,
  RULES_SKIPPED,
  toEvent,
  validateDerivedRule,
  type DerivedRule,
  type DerivedRuleSpec,
  type LogEvent,
  type RawRecord,
  type RecordStore,
  type Stored,
} from "../../packages/core/src/index";

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0);

function raw(text: string, over: Partial<RawRecord> = {}): RawRecord {
  return { id: `01900000-0000-7000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, "0")}`, tenant: "acme", receivedAt: T0, transport: "http", remote: "10.0.0.1", collector: "c1", tags: [], raw: text, ...over };
}

function spec(input: Record<string, unknown>): DerivedRuleSpec {
  const r = validateDerivedRule({ name: "r", ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

function stored(s: DerivedRuleSpec, id = "r1", tenant = "acme", updatedAt = T0): DerivedRule {
  return { ...s, id, tenant, createdAt: T0, updatedAt };
}

function apply(text: string, specs: DerivedRuleSpec[], over: Partial<RawRecord> = {}): LogEvent {
  return applyDerivedRules(toEvent(raw(text, over)), specs.map(compileRule));
}

describe("derived field rules: validation", () => {
  it("keeps only what a rule's type uses, with defaults", () => {
    expect(validateDerivedRule({ name: " took ", type: "regex", pattern: "took (?<ms>\\d+) ms", field: "ignored", before: "x" })).toEqual({
      ok: true,
      spec: { name: "took", type: "regex", pattern: "took (?<ms>\\d+) ms", scope: {}, enabled: true },
    });
    expect(validateDerivedRule({ name: "status", type: "keyvalue", key: "status_code" })).toEqual({
      ok: true,
      spec: { name: "status", type: "keyvalue", key: "status_code", delimiter: "=", field: "status_code", scope: {}, enabled: true },
    });
    expect(validateDerivedRule({ name: "thread", type: "anchor", before: "[", after: "]", field: "thread", scope: { app: "java", logtype: "" } })).toMatchObject({
      ok: true,
      spec: { before: "[", after: "]", field: "thread", scope: { app: "java" } },
    });
  });

  it("names each problem: the type, a pattern RE2 refuses, a regex without named groups, a bad field or tag, a scope", () => {
    const fields = (input: Record<string, unknown>) => {
      const r = validateDerivedRule(input);
      return r.ok ? [] : r.errors.map((e) => e.field).sort();
    };
    expect(fields({ name: "x", type: "grok" })).toEqual(["type"]);
    expect(fields({ name: "", type: "regex", pattern: "(a" })).toEqual(["name", "pattern"]);
    expect(validateDerivedRule({ name: "x", type: "regex", pattern: "(?=lookahead)" })).toMatchObject({ ok: false, errors: [{ message: expect.stringMatching(/RE2/) }] });
    expect(validateDerivedRule({ name: "x", type: "regex", pattern: "took \\d+ ms" })).toMatchObject({ ok: false, errors: [{ field: "pattern", message: expect.stringMatching(/\(\?<field>/) }] });
    expect(fields({ name: "x", type: "regex", pattern: "(?<9lives>\\d)" })).toEqual(["pattern"]);
    expect(fields({ name: "x", type: "anchor", after: "]", field: "a.b" })).toEqual(["before", "field"]);
    expect(fields({ name: "x", type: "keyvalue", key: "a b", delimiter: " " })).toEqual(["delimiter", "field"]);
    expect(fields({ name: "x", type: "tag", pattern: "x", addTag: "has space" })).toEqual(["addTag"]);
    expect(fields({ name: "x", type: "tag", pattern: "x", addTag: "ok", scope: { tag: "two words" }, enabled: "yes" })).toEqual(["enabled", "scope.tag"]);
    expect(fields({ name: "x", type: "tag", pattern: "x", addTag: "ok", scope: [] })).toEqual(["scope"]);
    expect(fields({ name: "x", type: "regex", pattern: "(?<a>x)".repeat(300) })).toEqual(["pattern"]); // over the length limit
  });

  it("refuses a pattern whose program is too big to run on every event (RE2 is linear, but in the program's size too)", () => {
    // 150 repeats of .{999}, 906 characters: RE2 compiles it to ~150,000 instructions (100,000 took 2.6 s per 16 KiB message).
    const r = validateDerivedRule({ name: "x", type: "regex", pattern: `(?<a>${".{999}".repeat(150)})` });
    expect(r).toMatchObject({ ok: false, errors: [{ field: "pattern", message: expect.stringMatching(/too big/) }] });
    expect(validateDerivedRule({ name: "x", type: "regex", pattern: "(?<a>.{100})" }).ok).toBe(true);
  });

  it("applies a partial update over the rule", () => {
    const base = spec({ type: "regex", pattern: "user=(?<user>\\w+)" });
    expect(validateDerivedRule({ enabled: false }, base)).toEqual({ ok: true, spec: { ...base, enabled: false } });
  });
});

describe("derived field rules: applied to events", () => {
  it("regex: each named group becomes derived.<name>; numbers are numbers", () => {
    const e = apply("GET /cart took 231 ms for user=alice", [spec({ type: "regex", pattern: "took (?<ms>\\d+) ms for user=(?<user>\\w+)" })]);
    expect(e.event.derived).toEqual({ ms: 231, user: "alice" });
    expect(apply("nothing here", [spec({ type: "regex", pattern: "took (?<ms>\\d+) ms" })]).event.derived).toBeUndefined();
  });

  it("anchor: the text between the anchors, or up to the end; keyvalue: the value after the key, quoted or not", () => {
    expect(apply("2024-03-10 [worker-7] started", [spec({ type: "anchor", before: "[", after: "]", field: "thread" })]).event.derived).toEqual({ thread: "worker-7" });
    expect(apply("reason: disk full ", [spec({ type: "anchor", before: "reason:", field: "reason" })]).event.derived).toEqual({ reason: "disk full" });
    expect(apply("a=1 status_code=700, b=2", [spec({ type: "keyvalue", key: "status_code" })]).event.derived).toEqual({ status_code: 700 });
    expect(apply('msg:"two words" x', [spec({ type: "keyvalue", key: "msg", delimiter: ":", field: "text" })]).event.derived).toEqual({ text: "two words" });
    // The key must start a word.
    expect(apply("xstatus_code=1", [spec({ type: "keyvalue", key: "status_code" })]).event.derived).toBeUndefined();
  });

  it("tag: an event the pattern matches gets the tag once", () => {
    const e = apply("upstream timed out", [spec({ type: "tag", pattern: "(?i)TIMED OUT", addTag: "timeout" }), spec({ type: "tag", pattern: "timed", addTag: "timeout" })], { tags: ["web"] });
    expect(e.tags).toEqual(["web", "timeout"]);
  });

  it("reads the message (the syslog MSG, not the header), and keeps the field an earlier rule set", () => {
    const e = apply("<14>1 2024-03-10T12:00:00Z web-1 shop 42 - - took 9 ms", [spec({ type: "regex", pattern: "^took (?<ms>\\d+)" }), spec({ type: "regex", pattern: "(?<ms>\\d+)" })], { transport: "tcp" });
    expect(e.event.derived).toEqual({ ms: 9 });
    expect(e.event.syslog?.appName).toBe("shop");
  });

  it("applies a scoped rule only to events of that log type, tag or syslog app", () => {
    const rule = spec({ type: "keyvalue", key: "user", scope: { app: "shop" } });
    expect(apply("<14>1 2024-03-10T12:00:00Z web-1 shop - - - user=bob", [rule], { transport: "tcp" }).event.derived).toEqual({ user: "bob" });
    expect(apply("<14>1 2024-03-10T12:00:00Z web-1 cron - - - user=bob", [rule], { transport: "tcp" }).event.derived).toBeUndefined();
    const json = spec({ type: "regex", pattern: "id (?<order>\\d+)", scope: { logtype: "json" } });
    expect(apply('{"message":"order id 17"}', [json]).event.derived).toEqual({ order: 17 });
    expect(apply("order id 17", [json]).event.derived).toBeUndefined();
    const tagged = spec({ type: "anchor", before: "id ", field: "order", scope: { tag: "Orders" } });
    expect(apply("order id 17", [tagged], { tags: ["orders"] }).event.derived).toEqual({ order: 17 });
    expect(apply("order id 17", [tagged]).event.derived).toBeUndefined();
  });

  it("bounds the work: rules read at most inputChars of a message, and values are cut", () => {
    const far = "x".repeat(DERIVED_LIMITS.inputChars) + " user=zed";
    expect(apply(far, [spec({ type: "keyvalue", key: "user" })]).event.derived).toBeUndefined();
    const long = apply(`v=${"y".repeat(5000)}`, [spec({ type: "keyvalue", key: "v" })]).event.derived!.v as string;
    expect(long.length).toBe(DERIVED_LIMITS.valueChars);
  });

  it("once a tenant's rules have used their time in a batch, its other events skip them and say so", () => {
    const budget = new RuleBudget(0); // spent from the start
    const e = applyDerivedRules(toEvent(raw("user=amy")), [compileRule(spec({ type: "keyvalue", key: "user" }))], budget);
    expect(e.event.derived).toBeUndefined();
    expect(e.event.unmeltable).toMatchObject({ derivedRules: RULES_SKIPPED });
  });
});

describe("derived field rules in the process stage's parsing", () => {
  it("applies each tenant's own rules to its events, and nothing to the others'", () => {
    const rule = stored(spec({ type: "regex", pattern: "took (?<ms>\\d+) ms" }));
    const values = [encodeRawBatch("acme", "c1", [raw("took 5 ms")]), encodeRawBatch("other", "c1", [raw("took 6 ms", { tenant: "other" })])];
    const parsed = parseRawRecords(values, { derived: { acme: [rule] } });
    const docs = Buffer.from(parsed.docs).toString("utf8");
    const ends = [...parsed.docEnds];
    const events = ends.map((end, k) => JSON.parse(docs.slice(k === 0 ? 0 : ends[k - 1], end)) as LogEvent);
    expect(events.map((e) => [e.tenant, e.event.derived])).toEqual([
      ["acme", { ms: 5 }],
      ["other", undefined],
    ]);
  });

  it("leaves a disabled rule out", () => {
    const off = stored({ ...spec({ type: "keyvalue", key: "user" }), enabled: false });
    const parsed = parseRawRecords([encodeRawBatch("acme", "c1", [raw("user=x")])], { derived: { acme: [off] } });
    expect(Buffer.from(parsed.docs).toString("utf8")).not.toContain('"derived"');
  });
});

describe("CachedRuleSource", () => {
  class CountingStore implements Pick<RecordStore<DerivedRuleSpec>, "list"> {
    reads = 0;
    fail = false;
    rules: Stored<DerivedRuleSpec>[] = [stored(spec({ type: "keyvalue", key: "user" }))];
    async list(tenant: string) {
      this.reads++;
      if (this.fail) throw new Error("bucket unreachable");
      return tenant === "acme" ? this.rules : [];
    }
  }

  it("reads a tenant's rules once per ttl, again at once when told of a change, and keeps the last ones when the store fails", async () => {
    let now = T0;
    const store = new CountingStore();
    const errors: string[] = [];
    const source = new CachedRuleSource(store as unknown as RecordStore<DerivedRuleSpec>, { ttlMs: 60_000, now: () => now, onError: (t, e) => errors.push(`${t}: ${e.message}`) });
    expect(Object.keys(await source.rulesFor(["acme", "other"]))).toEqual(["acme"]);
    await source.rulesFor(["acme"]);
    expect(store.reads).toBe(2); // acme and other, once each
    source.changed("acme");
    await source.rulesFor(["acme"]);
    expect(store.reads).toBe(3);
    now += 60_000;
    store.fail = true;
    expect((await source.rulesFor(["acme"])).acme).toHaveLength(1);
    expect(errors).toEqual(["acme: bucket unreachable"]);
  });

  it("does not wait for a store that does not answer: the batch goes on with the rules last read", async () => {
    const hanging = { list: () => new Promise<never>(() => undefined) } as unknown as RecordStore<DerivedRuleSpec>;
    const errors: string[] = [];
    const source = new CachedRuleSource(hanging, { ttlMs: 60_000, readTimeoutMs: 20, onError: (t, e) => errors.push(`${t}: ${e.message}`) });
    expect(await source.rulesFor(["acme"])).toEqual({});
    expect(errors).toEqual(["acme: the rules were not read within 20 ms"]);
  });
});
