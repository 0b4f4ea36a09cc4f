import { Backoff, startWorker, type Logger } from "@unmeltable/core";
import type { Worker } from "node:worker_threads";
import { UDP_FLUSH_MS, UDP_NICE_RAISE } from "./udp-batching";
import { loadNativeUdp, type NativeUdp } from "./udp-native";

export interface UdpReceiverInit {
  host: string;
  port: number;
  receiveBufferBytes: number;
  /** Batches the main thread may be behind before datagrams are refused (each at most 64 KiB). */
  maxBatchesHeld: number;
  /**
   * How datagrams are received: "native" (recvmmsg in a thread of its own, udp-native.ts), "dgram" (Node's
   * dgram in a worker thread), or "auto" (default): native where it is built, else dgram.
   */
  receivePath?: UdpReceivePath;
}

export type UdpReceivePath = "auto" | "native" | "dgram";

export interface UdpBatch {
  kind: "batch";
  buffer: ArrayBuffer;
  bytes: number;
  count: number;
  /** Datagrams refused since the last batch because the main thread was too far behind. */
  refused: number;
}

export type UdpReceiverReply = UdpBatch | ({ kind: "ready" } & ReceiverStarted) | { kind: "error"; message: string } | { kind: "closed" };

/** What a receiver thread reports once its socket is bound. */
interface ReceiverStarted {
  port: number;
  /** What the kernel granted of the receive buffer asked for (Linux reports twice the usable size). */
  receiveBufferBytes: number;
  /** Whether the thread runs above the process's priority (allowed to root and CAP_SYS_NICE only). */
  priorityRaised: boolean;
}

export interface UdpReceiverPath {
  /** The receive path in use. */
  path: "native" | "dgram";
  /** Why not native, when "auto" fell back to dgram. */
  fallbackReason?: string;
}

export interface UdpReceiver extends ReceiverStarted, UdpReceiverPath {
  /** Stops receiving and delivers what was received; resolves once the worker has exited. */
  close(): Promise<void>;
}

/** Waits before starting a failed receiver again: doubling from 1 s up to 30 s, back to 1 s once one runs a minute. */
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;
const HEALTHY_AFTER_MS = 60_000;

/**
 * Receives syslog over UDP in a worker thread (udp-receiver-worker.ts) and gives the main thread the
 * datagrams of each batch, grouped by sender: `deliver(frames, remote)` for each run of one sender's
 * datagrams, `refused(n)` for datagrams the worker refused while the main thread was behind.
 *
 * A receiver that fails after it started (an exception in the thread, the thread killed by memory) is
 * logged and started again on the same port, with a growing pause: UDP must not stop for good while TCP
 * and HTTP go on. Datagrams that arrive while no thread owns the port are lost, as UDP's are.
 */
export async function startUdpReceiver(
  init: UdpReceiverInit,
  deliver: (frames: Buffer[], remote: string) => void,
  refused: (n: number) => void,
  logger: Logger,
  /** Starts a dgram receiver thread (tests keep a handle on it; given, the path is dgram); default: udp-receiver-worker.ts, from its bundle when built. */
  startThread?: (init: UdpReceiverInit) => Worker,
): Promise<UdpReceiver> {
  const chosen = chooseReceivePath(startThread ? "dgram" : (init.receivePath ?? "auto"));
  let closing = false;
  const restarts = new Backoff(RESTART_FIRST_MS, RESTART_MAX_MS);
  let restartTimer: NodeJS.Timeout | undefined;
  const startDgram = startThread ?? ((i: UdpReceiverInit) => startWorker(import.meta.url, "udp-receiver-worker.mjs", "udp-receiver-worker.ts", i));
  const spawn = async (i: UdpReceiverInit) => ("udp" in chosen ? spawnNativeReceiver(chosen.udp, i, deliver, refused) : spawnReceiver(startDgram(i), deliver, refused));
  let current = await spawn(init);
  const watch = (running: Running) => {
    const startedAt = Date.now();
    void running.failed.then((reason) => {
      if (closing) return;
      if (Date.now() - startedAt >= HEALTHY_AFTER_MS) restarts.reset();
      const firstWaitMs = restarts.next();
      logger.error("syslog UDP: the receiver thread failed; starting it again", { reason, restartInMs: firstWaitMs, port: current.port });
      const again = () => {
        restartTimer = undefined;
        if (closing) return;
        spawn({ ...init, port: current.port }).then(
          (next) => {
            if (closing) return void next.close();
            current = next;
            logger.info("syslog UDP: receiver thread started again", { port: next.port });
            watch(next);
          },
          (err: unknown) => {
            const waitMs = restarts.next();
            logger.error("syslog UDP: could not start the receiver thread again", { error: err instanceof Error ? err.message : String(err), restartInMs: waitMs });
            restartTimer = setTimeout(again, waitMs);
          },
        );
      };
      restartTimer = setTimeout(again, firstWaitMs);
    });
  };
  watch(current);
  return {
    path: "udp" in chosen ? "native" : "dgram",
    ...("reason" in chosen && chosen.reason ? { fallbackReason: chosen.reason } : {}),
    port: current.port,
    receiveBufferBytes: current.receiveBufferBytes,
    priorityRaised: current.priorityRaised,
    close: async () => {
      closing = true;
      clearTimeout(restartTimer);
      await current.close();
    },
  };
}

function chooseReceivePath(asked: UdpReceivePath): { udp: NativeUdp } | { reason?: string } {
  if (asked === "dgram") return {};
  const native = loadNativeUdp();
  if ("udp" in native) return native;
  if (asked === "native") throw new Error(`syslog UDP: the native receive path was asked for, but ${native.reason}`);
  return native;
}

interface Running extends ReceiverStarted {
  /** Resolves with the reason when the thread ends without being asked to. */
  failed: Promise<string>;
  close(): Promise<void>;
}

/** One receiver thread, from its start until it has bound its socket (or failed to). */
async function spawnReceiver(worker: Worker, deliver: (frames: Buffer[], remote: string) => void, refused: (n: number) => void): Promise<Running> {
  let closed: () => void = () => undefined;
  let asked = false;
  let fail: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (fail = resolve));
  const ready = new Promise<ReceiverStarted>((resolve, reject) => {
    worker.on("error", (err) => {
      reject(err);
      fail(err.message);
    });
    worker.once("exit", (code) => {
      reject(new Error(`the UDP receiver exited with code ${code}`));
      if (!asked) fail(`exited with code ${code}`);
    });
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
  let started: ReceiverStarted;
  try {
    started = await ready;
  } catch (err) {
    asked = true;
    await worker.terminate();
    throw err;
  }
  worker.unref();
  return {
    port: started.port,
    receiveBufferBytes: started.receiveBufferBytes,
    priorityRaised: started.priorityRaised,
    failed,
    close: async () => {
      asked = true;
      // Referenced again until it has delivered what it held: a close awaited at shutdown must not be cut
      // short by an event loop that has nothing else to do.
      worker.ref();
      await new Promise<void>((resolve) => {
        closed = resolve;
        worker.once("exit", () => resolve());
        worker.postMessage("close");
      });
      await worker.terminate();
    },
  };
}

/** The native receive path (udp-native.ts): its thread binds the socket before this returns. */
function spawnNativeReceiver(udp: NativeUdp, init: UdpReceiverInit, deliver: (frames: Buffer[], remote: string) => void, refused: (n: number) => void): Running {
  let asked = false;
  let closed: () => void = () => undefined;
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  let fail: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (fail = resolve));
  const opened = udp.open(init.host, init.port, init.receiveBufferBytes, init.maxBatchesHeld, UDP_FLUSH_MS, UDP_NICE_RAISE, (batch, count, n, error, isClosed) => {
    if (n > 0) refused(n);
    if (batch && count > 0) unpack(batch, deliver);
    if (isClosed) {
      if (!asked) fail(error ?? "the receive thread stopped");
      closed();
    }
  });
  return {
    port: opened.port,
    receiveBufferBytes: opened.receiveBufferBytes,
    priorityRaised: opened.priorityRaised,
    failed,
    close: async () => {
      asked = true;
      udp.close(opened.handle);
      await whenClosed;
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

declare module "node:buffer" {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
  }
}
