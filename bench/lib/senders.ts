import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";
import { Corpus, rfc5424 } from "./corpus";

/**
 * Low-CPU senders: a ring of distinct, pre-formatted messages is built once and replayed with large
 * writes, so that on a 2-core machine the sender leaves as much CPU as possible to the server.
 */
export function messageRing(opts: { seed: number; size: number; token?: string; count?: number }): string[] {
  const corpus = new Corpus(opts.seed);
  const out: string[] = [];
  const at = new Date();
  for (let i = 0; i < (opts.count ?? 4096); i++) {
    let line = rfc5424(corpus.next(at), opts.token, at);
    // Pad or cut to the requested size, so results are comparable with the peers' 200-byte runs
    // (size 0: the corpus's natural lines, which the parsers recognise).
    if (opts.size > 0) {
      if (line.length < opts.size) line += " " + "x".repeat(opts.size - line.length - 1);
      else line = line.slice(0, opts.size);
    }
    out.push(line);
  }
  return out;
}

export interface SendResult {
  sent: number;
  seconds: number;
}

/** TCP, one or more connections, newline or octet-counted framing. */
export async function sendTcp(opts: { host: string; port: number; ring: string[]; total: number; connections: number; octet: boolean; ratePerSec?: number }): Promise<SendResult> {
  const framed = opts.ring.map((m) => (opts.octet ? `${Buffer.byteLength(m)} ${m}` : `${m}\n`));
  // Chunks of ~256 messages each: big writes, few syscalls.
  const chunks: Buffer[] = [];
  for (let i = 0; i < framed.length; i += 256) chunks.push(Buffer.from(framed.slice(i, i + 256).join("")));
  const perChunk = 256;
  const started = performance.now();
  let sent = 0;
  const conn = async (share: number) => {
    const sock = net.connect(opts.port, opts.host);
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    let mine = 0;
    let i = 0;
    while (mine < share) {
      const chunk = chunks[i++ % chunks.length]!;
      const n = Math.min(perChunk, share - mine);
      const data = n === perChunk ? chunk : Buffer.from(framed.slice(0, n).join(""));
      mine += n;
      sent += n;
      if (opts.ratePerSec) {
        const due = started + (sent / opts.ratePerSec) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      if (!sock.write(data)) await new Promise((r) => sock.once("drain", r));
    }
    await new Promise<void>((r) => sock.end(r));
  };
  const share = Math.floor(opts.total / opts.connections);
  await Promise.all(Array.from({ length: opts.connections }, (_, k) => conn(k === 0 ? opts.total - share * (opts.connections - 1) : share)));
  return { sent, seconds: (performance.now() - started) / 1000 };
}

/** UDP, one message per datagram, at a fixed offered rate (UDP has no back-pressure). */
export async function sendUdp(opts: { host: string; port: number; ring: string[]; total: number; ratePerSec: number }): Promise<SendResult> {
  const sock = dgram.createSocket("udp4");
  const bufs = opts.ring.map((m) => Buffer.from(m));
  const started = performance.now();
  let sent = 0;
  const tick = 5; // ms
  while (sent < opts.total) {
    const due = Math.min(opts.total, Math.floor(((performance.now() - started) / 1000) * opts.ratePerSec) + Math.ceil((opts.ratePerSec * tick) / 1000));
    while (sent < due) {
      sock.send(bufs[sent % bufs.length]!, opts.port, opts.host);
      sent++;
    }
    await new Promise((r) => setTimeout(r, tick));
  }
  await new Promise((r) => setTimeout(r, 50));
  sock.close();
  return { sent, seconds: (performance.now() - started) / 1000 };
}

/** Loggly bulk over HTTP: `concurrency` clients posting `linesPerRequest` events each. */
export async function sendHttpBulk(opts: { host: string; port: number; token: string; ring: string[]; total: number; linesPerRequest: number; concurrency: number }): Promise<SendResult & { failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const bodies: Buffer[] = [];
  for (let i = 0; i < 16; i++) {
    bodies.push(Buffer.from(Array.from({ length: opts.linesPerRequest }, (_, k) => opts.ring[(i * opts.linesPerRequest + k) % opts.ring.length]).join("\n")));
  }
  const started = performance.now();
  let sent = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < opts.total) {
      const n = Math.min(opts.linesPerRequest, opts.total - next);
      next += n;
      const body = n === opts.linesPerRequest ? bodies[next % bodies.length]! : Buffer.from(opts.ring.slice(0, n).join("\n"));
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: opts.host, port: opts.port, method: "POST", path: `/bulk/${opts.token}/tag/bench/`, agent, headers: { "Content-Length": body.length } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(body);
      });
      if (status === 200) sent += n;
      else failed += n;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  agent.destroy();
  return { sent, failed, seconds: (performance.now() - started) / 1000 };
}
