import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { CodedError, validateDerivedRule, type DerivedRuleSpec } from "@unmeltable/core";
import { RuleThread } from "@unmeltable/alerts";

/**
 * On one machine the derived-field rules API compiles patterns and runs previews on a thread of its own
 * (alerts' RuleThread), never on the thread that accepts syslog. Real worker threads: the answers are the
 * inline ones, a full queue is refused, and a request that hangs ends the thread, which comes back.
 */
function spec(input: Record<string, unknown>): DerivedRuleSpec {
  const r = validateDerivedRule({ name: "r", ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

/** A thread that takes requests and never answers (a pattern that never ends, as far as the caller can tell). */
const hanging = () => new Worker("require('node:worker_threads').parentPort.on('message', () => {})", { eval: true });
/** A thread that answers every check at once, "no problem" (it starts in milliseconds, unlike one loading TypeScript). */
const prompt = () => new Worker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage({ id: m.id }))", { eval: true });

describe("the derived-field rules' thread", () => {
  let thread: RuleThread | undefined;
  afterEach(async () => {
    await thread?.close();
    thread = undefined;
  });

  it("checks patterns and runs previews as the inline code does", async () => {
    thread = new RuleThread({ timeoutMs: 60_000 }); // from the TypeScript source, loading the thread's code takes a while on a busy machine
    expect(await thread.check("took (?<ms>\\d+) ms", true)).toBeUndefined();
    expect(await thread.check("took (\\d+", true)).toMatch(/RE2/);
    expect(await thread.check("took \\d+ ms", true)).toMatch(/\(\?<field>/);
    expect(await thread.check("took \\d+ ms", false)).toBeUndefined(); // a tag rule needs no group
    expect(await thread.check(`(?<a>${".{999}".repeat(150)})`, true)).toMatch(/too big/);
    const out = await thread.preview(spec({ type: "regex", pattern: "took (?<ms>\\d+) ms" }), [
      { text: "GET / took 12 ms", inScope: true },
      { text: "nothing", inScope: true },
      { text: "took 5 ms", inScope: false },
    ]);
    expect(out).toEqual([{ fields: { ms: 12 } }, { fields: null }, { fields: null }]);
  });

  it("refuses work past its queue with a 503 to try again, and answers the rest", async () => {
    thread = new RuleThread({ maxPending: 1, timeoutMs: 60_000 });
    const first = thread.check("a(?<b>c)", true);
    await expect(thread.check("x", false)).rejects.toMatchObject({ status: 503 });
    expect(await first).toBeUndefined();
    expect(await thread.check("x", false)).toBeUndefined();
  });

  it("ends a thread that does not answer (a 400 for that request) and starts a new one for the next", async () => {
    const spawned: string[] = [];
    thread = new RuleThread({
      // Far longer than a thread that answers takes, also on a busy machine: only the hanging one reaches it.
      timeoutMs: 2_000,
      spawn: () => {
        spawned.push(spawned.length === 0 ? "hanging" : "prompt");
        return spawned.length === 1 ? hanging() : prompt();
      },
    });
    const stuck = await thread.check("(?<a>x)", true).catch((e: unknown) => e);
    expect(stuck).toBeInstanceOf(CodedError);
    expect(stuck).toMatchObject({ status: 400, message: expect.stringMatching(/too long/) });
    expect(await thread.check("(?<a>x", true)).toBeUndefined();
    expect(spawned).toEqual(["hanging", "prompt"]);
  });
});
