import { describe, expect, it } from "vitest";
import { SyslogDeframer } from "@unmeltable/core";
import { seededRandom } from "../helpers/seeded";

function deframe(chunks: (string | Buffer)[], max = 1000) {
  const frames: string[] = [];
  const rejected: { reason: string; bytes: string; detail: string }[] = [];
  const d = new SyslogDeframer(
    { frame: (b) => frames.push(b.toString()), reject: (reason, bytes, detail) => rejected.push({ reason, bytes: bytes.toString(), detail }) },
    max,
  );
  for (const c of chunks) d.push(typeof c === "string" ? Buffer.from(c) : c);
  d.end();
  return { frames, rejected };
}

/** Every way of cutting `text` into two chunks gives the same frames: framing never depends on read sizes. */
function everySplit(text: string, max = 1000) {
  const results = new Set<string>();
  for (let i = 0; i <= text.length; i++) results.add(JSON.stringify(deframe([text.slice(0, i), text.slice(i)], max)));
  return [...results].map((r) => JSON.parse(r) as ReturnType<typeof deframe>);
}

describe("syslog stream framing (RFC 6587)", () => {
  it("splits newline-delimited frames, dropping CR and blank lines", () => {
    expect(deframe(["<13>a\r\n<13>b\n\n<13>c\n"]).frames).toEqual(["<13>a", "<13>b", "<13>c"]);
  });

  it("splits octet-counted frames, including messages that contain newlines", () => {
    const m1 = "<13>1 - - - - - line one\nline two";
    const m2 = "<14>1 - - - - - second";
    expect(deframe([`${Buffer.byteLength(m1)} ${m1}${Buffer.byteLength(m2)} ${m2}`]).frames).toEqual([m1, m2]);
  });

  it("detects the framing per frame on one connection", () => {
    const m = "<13>1 - - - - - counted";
    expect(deframe([`<13>plain\n${m.length} ${m}<13>plain again\n`]).frames).toEqual(["<13>plain", m, "<13>plain again"]);
  });

  it("gives the same frames however the stream is cut into reads", () => {
    const m = "<13>1 - - - - - counted é";
    const text = `${Buffer.byteLength(m)} ${m}<13>lf\n42 is the answer\n${Buffer.byteLength(m)} ${m}`;
    const results = everySplit(text);
    expect(results).toHaveLength(1);
    expect(results[0]!.frames).toEqual([m, "<13>lf", "42 is the answer", m]);
  });

  it("does not take a line that starts with a number for an octet count", () => {
    expect(deframe(["500 errors in the last minute\n<13>next\n"]).frames).toEqual(["500 errors in the last minute", "<13>next"]);
  });

  it("treats NUL as a trailer too", () => {
    expect(deframe(["<13>a\u0000<13>b\u0000"]).frames).toEqual(["<13>a", "<13>b"]);
  });

  it("keeps a NUL inside a message in that message, wherever the stream is cut", () => {
    const text = "<13>1 - h a - - [tok@41058] first\u0000second\n<13>b\u0000\u0000pad\u0000 <x>\u0000<1a>\u0000\u0000<14>c\u0000\r\n";
    const results = everySplit(text);
    expect(results).toHaveLength(1);
    expect(results[0]!.frames).toEqual(["<13>1 - h a - - [tok@41058] first\u0000second", "<13>b\u0000\u0000pad\u0000 <x>\u0000<1a>", "<14>c"]);
  });

  it("ends a large frame at a NUL whose <PRI> arrives in the next reads", () => {
    const big = `<13>${"y".repeat(100_000)}`;
    const frames = deframe([Buffer.from(`${big}\u0000<1`), Buffer.from("3>next frame"), Buffer.from(" goes on"), Buffer.from("\n")], 200_000).frames;
    expect(frames).toEqual([big, "<13>next frame goes on"]);
    const nuls = `<13>${"\u0000".repeat(150_000)}`;
    const pieces = Array.from({ length: 10 }, (_, i) => Buffer.from(nuls.slice(i * 15_001, (i + 1) * 15_001)));
    expect(deframe([...pieces, Buffer.from("tail\n")], 200_000).frames).toEqual([`${nuls}tail`]);
  });

  it("holds a frame that ends in NUL until the next byte or a quiet-connection flush", () => {
    const frames: string[] = [];
    const d = new SyslogDeframer({ frame: (b) => frames.push(b.toString()), reject: () => undefined }, 1000);
    d.push(Buffer.from("<13>a\u0000<13>b\u0000"));
    expect(frames).toEqual(["<13>a"]);
    expect(d.holdsNulTerminated).toBe(true);
    d.flushNulTerminated();
    expect(frames).toEqual(["<13>a", "<13>b"]);
    expect(d.holdsNulTerminated).toBe(false);
    d.push(Buffer.from("<13>c\u0000rest"));
    expect(d.holdsNulTerminated).toBe(false);
    d.flushNulTerminated();
    expect(frames).toEqual(["<13>a", "<13>b"]);
  });

  it("gives the same frames for large frames read in many small chunks (collected, not copied per read)", () => {
    const rnd = seededRandom(7);
    const parts: string[] = [];
    for (let i = 0; i < 40; i++) {
      const body = `<13>${String(i)} ${"y".repeat(Math.floor(rnd() * 300_000))}`;
      const kind = Math.floor(rnd() * 4);
      if (kind === 0) parts.push(`${Buffer.byteLength(body)} ${body}`);
      else if (kind === 1) parts.push(`${body}\u0000`);
      else if (kind === 2) parts.push(`${body}\u0000junk\n`);
      else parts.push(`${body}\n`);
    }
    const stream = Buffer.from(parts.join(""));
    const whole = deframe([stream], 250_000);
    const chunks: Buffer[] = [];
    for (let p = 0; p < stream.length; ) {
      const n = 1 + Math.floor(rnd() * 70_000);
      chunks.push(stream.subarray(p, p + n));
      p += n;
    }
    const pieces = deframe(chunks, 250_000);
    // An oversized line's error text says what was known when it was refused; frames and bytes must agree.
    const same = (r: ReturnType<typeof deframe>) => ({ frames: r.frames, rejected: r.rejected.map((x) => x.bytes) });
    expect(same(pieces)).toEqual(same(whole));
    expect(whole.frames.length + whole.rejected.length).toBeGreaterThan(30);
    expect(whole.rejected.length).toBeGreaterThan(0);
  });

  it("delivers a last frame that has no trailer when the connection ends", () => {
    expect(deframe(["<13>a\n<13>b"]).frames).toEqual(["<13>a", "<13>b"]);
  });

  it("rejects an oversized octet-counted frame, skips exactly its bytes, and keeps the frames after it", () => {
    const big = `<13>${"x".repeat(50)}`;
    const { frames, rejected } = deframe([`${big.length} ${big}<13>after\n`], 20);
    expect(frames).toEqual(["<13>after"]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBe("event_too_large");
    expect(rejected[0]!.bytes).toBe(big.slice(0, 20));
  });

  it("skips an oversized counted frame that arrives over many reads", () => {
    const big = `<13>${"x".repeat(5000)}`;
    const text = `${big.length} ${big}<13>after\n`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
    const { frames, rejected } = deframe(chunks, 100);
    expect(frames).toEqual(["<13>after"]);
    expect(rejected).toHaveLength(1);
  });

  it("rejects an oversized line and resumes at the next newline", () => {
    const { frames, rejected } = deframe([`<13>${"y".repeat(30)}`, `${"y".repeat(30)}\n<13>ok\n`], 20);
    expect(frames).toEqual(["<13>ok"]);
    expect(rejected.map((r) => r.reason)).toEqual(["event_too_large"]);
  });
});
