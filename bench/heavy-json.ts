/**
 * One tenant's heavy events against everyone else's ingest: 20 JSON bodies of about 1 MB with 70,000 keys
 * each (and, with DEEP=1, one nested 20,000 levels), sent to /inputs, while a probe asks /healthz every 20 ms.
 * The longest probe answer is how long the server's event loop was stalled (collectors, stages and the API
 * share it). Results: bench/RESULTS.md.
 *
 *   node --import tsx bench/heavy-json.ts
 */
import { startServer } from "./lib/server";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const server = await startServer();
const base = `http://127.0.0.1:${server.httpPort}`;
await sleep(1000);

const wide = (n: number) => {
  const parts = [`"marker":"heavy-${n}"`];
  for (let i = 0; i < 70_000; i++) parts.push(`"key_${i}":${i % 10}`);
  return `{${parts.join(",")}}`;
};
const bodies = Array.from({ length: 20 }, (_, n) => wide(n));
if (process.env.DEEP) bodies.push(`{"marker":"deep","d":${'{"x":'.repeat(20_000)}1${"}".repeat(20_000)}}`);

let probing = true;
let worstMs = 0;
let probes = 0;
const probe = (async () => {
  while (probing) {
    const t = performance.now();
    await fetch(`${base}/healthz`);
    worstMs = Math.max(worstMs, performance.now() - t);
    probes++;
    await sleep(20);
  }
})();

const started = performance.now();
const answers = await Promise.all(bodies.map((body) => fetch(`${base}/inputs/${server.ingestToken}`, { method: "POST", body })));
const answeredMs = performance.now() - started;
const count = async () => {
  const res = await fetch(`${base}/apiv2/events/count?q=${encodeURIComponent("json.marker:heavy*")}&from=-1h&until=now`, { headers: { authorization: `bearer ${server.apiToken}` } });
  return ((await res.json()) as { count: number }).count;
};
let searchable = 0;
for (let i = 0; i < 1200 && searchable < 20; i++) {
  await sleep(100);
  searchable = await count();
}
const searchableMs = performance.now() - started;
probing = false;
await probe;
const stats = server.stats();
await server.stop();
console.log(
  JSON.stringify({
    bodies: bodies.length,
    bytesEach: Buffer.byteLength(bodies[0]!),
    statuses: [...new Set(answers.map((a) => a.status))],
    answeredMs: Math.round(answeredMs),
    searchable,
    searchableMs: Math.round(searchableMs),
    worstHealthzMs: Math.round(worstMs),
    probes,
    peakRssMiB: stats.peakRssMiB,
  }),
);
process.exit(0);
