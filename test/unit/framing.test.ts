import { describe, expect, it } from "vitest";
import { SyslogDeframer } from "@unmeltable/core";

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
