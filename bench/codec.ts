/**
 * Micro-benchmark of the raw batch envelope (packages/core/src/raw-record.ts) against the JSON envelope
 * it replaced, on the seeded corpus: encode and decode cost per event, and bytes per event.
 *
 *   node --import tsx bench/codec.ts
 */
import { decodeRawBatch, encodeRawBatch, newEventId, type RawRecord } from "@unmeltable/core";
import { messageRing } from "./lib/senders";

const ring = messageRing({ seed: 1, size: 200, token: "3efaaddc-211f-4fa5-8b8a-10e64c81708f" });
const events: RawRecord[] = ring.slice(0, 2000).map((raw) => ({ id: newEventId(), tenant: "default", receivedAt: Date.now(), transport: "tcp", remote: "127.0.0.1", collector: "vm", tags: ["bench"], raw }));

/** The first envelope: positional JSON arrays. */
const jsonEncode = (list: RawRecord[]) => Buffer.from(JSON.stringify({ v: 1, tenant: "default", collector: "vm", events: list.map((e) => [e.id, e.receivedAt, e.transport, e.remote, e.tags, e.raw]) }));
const jsonDecode = (buf: Buffer) => JSON.parse(buf.toString("utf8")) as unknown;

function perEvent(fn: () => unknown, rounds = 200): number {
  const t = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return ((performance.now() - t) / (rounds * events.length)) * 1000;
}

for (let round = 0; round < 3; round++) {
  const bin = encodeRawBatch("default", "vm", events);
  const json = jsonEncode(events);
  console.log(
    JSON.stringify({
      binaryEncodeUs: perEvent(() => encodeRawBatch("default", "vm", events)).toFixed(3),
      binaryDecodeUs: perEvent(() => decodeRawBatch(bin)).toFixed(3),
      jsonEncodeUs: perEvent(() => jsonEncode(events)).toFixed(3),
      jsonDecodeUs: perEvent(() => jsonDecode(json)).toFixed(3),
      binaryBytesPerEvent: (bin.length / events.length).toFixed(1),
      jsonBytesPerEvent: (json.length / events.length).toFixed(1),
    }),
  );
}
