import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

export interface UdpReceiverInit {
  host: string;
  port: number;
  receiveBufferBytes: number;
  /** Batches the main thread may be behind before datagrams are refused (each at most 64 KiB). */
  maxBatchesHeld: number;
}

export interface UdpBatch {
  kind: "batch";
  buffer: ArrayBuffer;
  bytes: number;
  count: number;
  /** Datagrams refused since the last batch because the main thread was too far behind. */
  refused: number;
}

export type UdpReceiverReply = UdpBatch | { kind: "ready"; port: number; receiveBufferBytes: number } | { kind: "error"; message: string } | { kind: "closed" };

export interface UdpReceiver {
  port: number;
  /** What the kernel granted of the receive buffer asked for (Linux reports twice the usable size). */
  receiveBufferBytes: number;
  /** Stops receiving and delivers what was received; resolves once the worker has exited. */
  close(): Promise<void>;
}

/**
 * Receives syslog over UDP in a worker thread (udp-receiver-worker.ts) and gives the main thread the
 * datagrams of each batch, grouped by sender: `deliver(frames, remote)` for each run of one sender's
 * datagrams, `refused(n)` for datagrams the worker refused while the main thread was behind.
 */
export async function startUdpReceiver(
  init: UdpReceiverInit,
  deliver: (frames: Buffer[], remote: string) => void,
  refused: (n: number) => void,
): Promise<UdpReceiver> {
  const worker = startWorker("udp-receiver-worker.mjs", "udp-receiver-worker.ts", init);
  let closed: () => void = () => undefined;
  const ready = new Promise<{ port: number; receiveBufferBytes: number }>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the UDP receiver exited with code ${code}`)));
    worker.on("message", (m: UdpReceiverReply) => {
      switch (m.kind) {
        case "ready":
          resolve(m);
          return;
        case "error":
          reject(new Error(`syslog UDP: ${m.message}`));
          return;
        case "closed":
          closed();
          return;
        case "batch":
          if (m.refused > 0) refused(m.refused);
          if (m.count > 0) {
            try {
              unpack(Buffer.from(m.buffer, 0, m.bytes), deliver);
            } finally {
              worker.postMessage("taken");
            }
          }
      }
    });
  });
  let started: { port: number; receiveBufferBytes: number };
  try {
    started = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  // A worker that fails later stops UDP only; the listeners and the process go on.
  worker.on("error", () => undefined);
  worker.unref();
  return {
    port: started.port,
    receiveBufferBytes: started.receiveBufferBytes,
    close: async () => {
      await new Promise<void>((resolve) => {
        closed = resolve;
        worker.postMessage("close");
      });
      await worker.terminate();
    },
  };
}

function unpack(buf: Buffer, deliver: (frames: Buffer[], remote: string) => void): void {
  let p = 0;
  let remote = "";
  let frames: Buffer[] = [];
  while (p < buf.length) {
    const alen = buf[p]!;
    const address = buf.latin1Slice(p + 1, p + 1 + alen);
    p += 1 + alen;
    const len = buf.readUInt32LE(p);
    p += 4;
    if (address !== remote) {
      if (frames.length > 0) deliver(frames, remote);
      frames = [];
      remote = address;
    }
    frames.push(buf.subarray(p, p + len));
    p += len;
  }
  if (frames.length > 0) deliver(frames, remote);
}

/**
 * The worker from the bundle next to this one (dist/), or from its TypeScript source through tsx (tests,
 * `tsx` runs): the same way the index's workers are started (packages/index-sqlite/src/start-worker.ts).
 */
function startWorker(bundle: string, source: string, workerData: unknown): Worker {
  const bundled = new URL(`./${bundle}`, import.meta.url);
  if (existsSync(bundled)) return new Worker(bundled, { workerData });
  const src = new URL(`./${source}`, import.meta.url).href;
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsx = pathToFileURL(path.join(tsxRoot, "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

declare module "node:buffer" {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
  }
}
