import { describe, expect, it } from "vitest";
import { answerWhenDurable, parseIngestPath, pixelEvent } from "@unmeltable/collector";
import { requestOrigin } from "../../packages/runtime/src/api-http";
import { TailTickets } from "../../packages/runtime/src/live-tail";

describe("ingest URLs", () => {
  it("reads Loggly's paths, decoding each segment on its own", () => {
    expect(parseIngestPath("/inputs/T")).toEqual({ kind: "inputs", token: "T", urlTags: undefined, pixel: false });
    expect(parseIngestPath("/bulk/T/?x=1")).toEqual({ kind: "bulk", token: "T", urlTags: undefined, pixel: false });
    expect(parseIngestPath("/inputs/T/tag/a,b/")).toEqual({ kind: "inputs", token: "T", urlTags: "a,b", pixel: false });
    expect(parseIngestPath("/bulk/T/tag/")).toEqual({ kind: "bulk", token: "T", urlTags: "", pixel: false });
    expect(parseIngestPath("/inputs/T/tag/a%2Cb%2Fc")).toEqual({ kind: "inputs", token: "T", urlTags: "a,b/c", pixel: false });
  });

  it("knows the pixel's forms: TOKEN.gif, and a .gif after the tags", () => {
    expect(parseIngestPath("/inputs/T.gif?a=1")).toMatchObject({ token: "T", pixel: true });
    expect(parseIngestPath("/inputs/T/tag/js/1*1.gif?PLAINTEXT=x")).toMatchObject({ token: "T", urlTags: "js", pixel: true });
    expect(parseIngestPath("/inputs/T/tag/js/.gif?a=1")).toMatchObject({ token: "T", urlTags: "js", pixel: true });
    expect(parseIngestPath("/inputs/T/tag/js.gif?a=1")).toMatchObject({ token: "T", urlTags: "js", pixel: true });
    expect(parseIngestPath("/inputs/T/pixel.gif")).toMatchObject({ token: "T", pixel: true });
  });

  it("refuses other paths (404) and undecodable ones (400)", () => {
    expect(parseIngestPath("/inputs/")).toMatchObject({ error: { status: 404 } });
    expect(parseIngestPath("/inputs/T/other")).toMatchObject({ error: { status: 404 } });
    expect(parseIngestPath("/inputs/T/tag/a/b/c")).toMatchObject({ error: { status: 404 } });
    expect(parseIngestPath("/inputs/%E0%A4%A/")).toMatchObject({ error: { status: 400 } });
    expect(parseIngestPath("/bulk/%/")).toMatchObject({ error: { status: 400 } });
  });

  it("makes the pixel's query one JSON event (repeated keys as arrays; PLAINTEXT alone as the event itself)", () => {
    expect(JSON.parse(pixelEvent("/inputs/T.gif?source=pixel&data=bar")!.toString())).toEqual({ source: "pixel", data: "bar" });
    expect(JSON.parse(pixelEvent("/inputs/T.gif?a=1&a=2&b=&c=%E2%82%AC")!.toString())).toEqual({ a: ["1", "2"], b: "", c: "€" });
    expect(pixelEvent(`/inputs/T.gif?PLAINTEXT=${encodeURIComponent('{"m":"x"}')}`)!.toString()).toBe('{"m":"x"}');
    expect(JSON.parse(pixelEvent("/inputs/T.gif?PLAINTEXT=x&DT=now")!.toString())).toEqual({ PLAINTEXT: "x", DT: "now" });
    // A malformed escape in the query does not throw: what cannot be decoded becomes U+FFFD or stays as it came.
    expect(JSON.parse(pixelEvent("/inputs/T.gif?a=%E0%A4%A&b=%")!.toString())).toEqual({ a: "\uFFFD%A", b: "%" });
    expect(pixelEvent("/inputs/T.gif")).toBeUndefined();
    expect(pixelEvent("/inputs/T.gif?")).toBeUndefined();
  });
});

describe("the answer to an ingest request", () => {
  it("is 200 once stored, 503 with Retry-After only when the events were not stored", async () => {
    expect(await answerWhenDurable(Promise.resolve(), { response: "ok" })).toEqual({ status: 200, headers: {}, body: { response: "ok" } });
    const refused = await answerWhenDurable(Promise.reject(new Error("disk full")), { response: "ok" });
    expect(refused).toMatchObject({ status: 503, headers: { "Retry-After": "5" }, body: { response: "error", message: expect.stringMatching(/not stored.*\(disk full\)/) } });
  });
});

describe("the origin of API links", () => {
  it("follows a TLS proxy's X-Forwarded-Proto and X-Forwarded-Host, else the connection and Host", () => {
    expect(requestOrigin({ host: "10.0.0.5:8080", "x-forwarded-proto": "https", "x-forwarded-host": "logs.example.com" }, false)).toBe("https://logs.example.com");
    expect(requestOrigin({ host: "logs.example.com", "x-forwarded-proto": "https, http" }, false)).toBe("https://logs.example.com");
    expect(requestOrigin({ host: "127.0.0.1:8080" }, false)).toBe("http://127.0.0.1:8080");
    expect(requestOrigin({ host: "[::1]:8443" }, true)).toBe("https://[::1]:8443");
    expect(requestOrigin({}, false)).toBe("http://localhost");
  });

  it("ignores values that are not a scheme or a host", () => {
    expect(requestOrigin({ host: "a.example", "x-forwarded-proto": "javascript", "x-forwarded-host": "evil.example/x?" }, false)).toBe("http://a.example");
    expect(requestOrigin({ host: "a.example@evil" }, false)).toBe("http://localhost");
  });
});

describe("live tail tickets", () => {
  it("are single-use, expire, and name their tenant", () => {
    let now = 1_000_000;
    const tickets = new TailTickets(30_000, () => now);
    const a = tickets.issue("acme");
    expect(Date.parse(a.expiresAt)).toBe(now + 30_000);
    expect(tickets.redeem(a.ticket)).toBe("acme");
    expect(tickets.redeem(a.ticket)).toBeUndefined();
    const b = tickets.issue("acme");
    now += 30_000;
    expect(tickets.redeem(b.ticket)).toBeUndefined();
    expect(tickets.redeem("made-up")).toBeUndefined();
  });

  it("keep at most 100 unused per tenant, dropping the oldest", () => {
    const tickets = new TailTickets();
    const issued = Array.from({ length: 150 }, () => tickets.issue("acme").ticket);
    const other = tickets.issue("other").ticket;
    expect(issued.slice(0, 50).map((t) => tickets.redeem(t))).toEqual(Array(50).fill(undefined));
    expect(issued.slice(50).every((t) => tickets.redeem(t) === "acme")).toBe(true);
    expect(tickets.redeem(other)).toBe("other");
  });
});
