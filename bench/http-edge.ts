/**
 * The HTTP edge's own cost per request: the same ingest-shaped handler (read a ~200 KB bulk body,
 * answer a small JSON) on bare node:http and on the program's fastify server (router, 405/404 guards,
 * error handling, drain hooks). One process drives both over keep-alive connections, so the figures
 * include the client's share, which is the same for both.
 *
 *   node --import tsx bench/http-edge.ts [--requests 4000] [--rounds 3]
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { noLogger } from "@unmeltable/core";
import { startHttpServers } from "../packages/runtime/src/http-server";

const { values: args } = parseArgs({ options: { requests: { type: "string", default: "4000" }, rounds: { type: "string", default: "3" } } });
const N = Number(args.requests);
const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => `<13>1 2024-01-01T00:00:00Z host app - - [tok@41058] message ${i} `.padEnd(199, "x")).join("\n"));

function readAll(req: http.IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => resolve(n));
    req.on("error", reject);
  });
}

async function drive(port: number, total: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let next = 0;
  const worker = async () => {
    while (next++ < total) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/bulk/tok/tag/bench/", agent, headers: { "Content-Length": body.length } }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        });
        req.on("error", reject);
        req.end(body);
      });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  agent.destroy();
}

async function bare(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    readAll(req).then(
      (n) => {
        const text = JSON.stringify({ response: "ok", n });
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
        res.end(text);
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

async function edge(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = await startHttpServers({
    host: "127.0.0.1",
    port: 0,
    logger: noLogger,
    routes: [
      {
        url: "/bulk/*",
        methods: ["POST", "PUT", "OPTIONS"],
        body: "stream",
        handler: async (req, reply) => reply.code(200).header("content-type", "application/json").send(Buffer.from(JSON.stringify({ response: "ok", n: await readAll(req.raw) }))),
      },
    ],
  });
  return { port: s.httpPort, close: s.close };
}

console.log(`| server | requests/s | CPU µs per request (server + client) |\n|---|---|---|`);
for (let round = 0; round < Number(args.rounds); round++) {
  for (const [name, make] of [["node:http, bare", bare], ["fastify edge", edge]] as const) {
    const s = await make();
    await drive(s.port, 300);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(s.port, N);
    const cpu = process.cpuUsage(c0);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`| ${name} | ${Math.round(N / seconds)} | ${Math.round((cpu.user + cpu.system) / N)} |`);
    await s.close();
  }
}
