import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { newEventId, toEvent } from "@unmeltable/core";
import { IndexWriter } from "@unmeltable/index-sqlite";
import { messageRing } from "../lib/senders";
const ring = messageRing({ seed: 1, size: 0, token: "3efaaddc-211f-4fa5-8b8a-10e64c81708f", count: 4096 });
const N = Number(process.argv[2] ?? 200000);
let t = performance.now();
const docs: string[] = [];
const base = Date.now() - 3600_000;
for (let i = 0; i < N; i++) {
  const raw = ring[i % ring.length]!;
  const ev = toEvent({ id: newEventId(), tenant: "t", receivedAt: base + i * 10, transport: "tcp", remote: "127.0.0.1", collector: "c", tags: ["bench"], raw });
  docs.push(JSON.stringify(ev));
}
console.log("toEvent+stringify us/event", ((performance.now() - t) * 1000 / N).toFixed(2), "doc bytes", docs[0]!.length);
const w = new IndexWriter(mkdtempSync(path.join(os.tmpdir(), "wq-")), () => "day");
t = performance.now();
for (let i = 0; i < N; i += 5000) w.write("t", docs.slice(i, i + 5000));
const sec = (performance.now() - t) / 1000;
console.log("writer events/s", Math.round(N / sec));
w.close();
