import { startServer } from "../lib/server";
import { messageRing, sendTcp } from "../lib/senders";
const s = await startServer();
const ring = messageRing({ seed: 1, size: 200, token: s.ingestToken });
const N = Number(process.argv[2] ?? 500000);
const t0 = performance.now();
const sent = await sendTcp({ host: "127.0.0.1", port: s.syslogPort, ring, total: N, connections: 2, octet: false });
console.log("sent", sent);
let last = 0;
for (;;) {
  const idx = await s.metric("unmeltable_stage_events_out_total", 'stage="index.default"');
  const proc = await s.metric("unmeltable_stage_events_out_total", 'stage="process"');
  const t = (performance.now() - t0) / 1000;
  console.log(t.toFixed(1), "processed", proc, "indexed", idx);
  if (idx >= N) { console.log("e2e events/s", Math.round(N / t)); break; }
  if (idx === last && t > 300) break;
  last = idx;
  await new Promise((r) => setTimeout(r, 2000));
}
console.log(s.stats());
await s.stop();
