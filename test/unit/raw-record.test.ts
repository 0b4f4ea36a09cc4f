import { describe, expect, it } from "vitest";
import { decodeRawBatch, encodeRawBatch, eventIdTime, newEventId, RawBatchDecodeError, rawRecordBytes, tenantPartition, uniteTags, type RawRecord } from "@unmeltable/core";

describe("raw batch envelope", () => {
  it("round-trips events of one tenant, optional fields included", () => {
    const events: RawRecord[] = [
      { id: newEventId(), tenant: "acme", receivedAt: 1, transport: "udp", remote: "10.0.0.1", collector: "c1", tags: ["a"], raw: "<13>hello" },
      { id: newEventId(), tenant: "acme", receivedAt: 2, transport: "http", remote: "::1", collector: "c1", tags: [], raw: "caf\uFFFD", rawBytes: Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString("base64"), flags: ["invalid_utf8"], contentType: "text/plain" },
    ];
    const decoded = decodeRawBatch(encodeRawBatch("acme", "c1", events));
    expect(decoded).toEqual({ tenant: "acme", collector: "c1", events });
    expect(rawRecordBytes(decoded.events[1]!)).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  it("refuses what is not a raw batch with a typed error", () => {
    for (const bad of ["not json", "[]", '{"v":2,"tenant":"a","collector":"c","events":[]}', '{"v":1,"tenant":"a","collector":"c","events":[[1,2]]}']) {
      expect(() => decodeRawBatch(Buffer.from(bad))).toThrow(RawBatchDecodeError);
    }
  });
});

describe("event ids", () => {
  it("are UUIDv7, unique, ordered by accept time, and carry that time", () => {
    const before = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newEventId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const t = eventIdTime(ids[0]!)!;
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});

describe("tags", () => {
  it("unite URL and header tags in first-seen order and leave out invalid ones", () => {
    expect(uniteTags("a,b", "c, a", ["d"])).toEqual({ tags: ["a", "b", "c", "d"], rejected: [] });
    expect(uniteTags("ok,-bad,has space,x".concat(",", "y".repeat(65)))).toEqual({ tags: ["ok", "x"], rejected: ["-bad", "has space", "y".repeat(65)] });
  });
});

describe("tenant partitioning", () => {
  it("keeps a tenant on one partition unless it has a spread, then rotates within the spread", () => {
    const p = tenantPartition("acme", 16);
    expect(tenantPartition("acme", 16, 1, 5)).toBe(p);
    const spread = new Set(Array.from({ length: 12 }, (_, turn) => tenantPartition("acme", 16, 4, turn)));
    expect(spread.size).toBe(4);
    expect(spread.has(p)).toBe(true);
  });
});

describe("raw batch envelope, hostile input", () => {
  it("rejects every truncation of a valid batch with a typed error, never a crash or a wrong result", () => {
    const events: RawRecord[] = [
      { id: newEventId(), tenant: "t", receivedAt: 5, transport: "tls", remote: "10.1.1.1", collector: "c", tags: ["x", "y"], raw: "é ü \" \\ ] line" },
      { id: newEventId(), tenant: "t", receivedAt: 6, transport: "https", remote: "::1", collector: "c", tags: [], raw: "b", contentType: "application/json" },
    ];
    const buf = encodeRawBatch("t", "c", events);
    expect(decodeRawBatch(buf).events).toEqual(events);
    for (let n = 0; n < buf.length; n++) {
      expect(() => decodeRawBatch(buf.subarray(0, n))).toThrow(RawBatchDecodeError);
    }
  });
});
