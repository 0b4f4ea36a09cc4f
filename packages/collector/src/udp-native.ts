/**
 * Loads the UDP socket's native receive path (../native/udp-recvmmsg.c, built by scripts/build-native.mjs
 * into dist/udp-recvmmsg.node): a thread of its own drains the socket with recvmmsg(2) and hands over
 * batches in the layout of udp-receiver-worker.ts. Linux only; where it is not built (no C compiler at
 * install, another OS) the receiver falls back to Node's dgram in a worker thread, and says so.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface NativeUdpOpened {
  handle: unknown;
  port: number;
  receiveBufferBytes: number;
  priorityRaised: boolean;
}

/** One batch, or the end: `closed` once the thread has stopped (after `close`, or on `error`). */
export type NativeUdpCallback = (batch: Buffer | null, count: number, refused: number, error: string | null, closed: boolean) => void;

export interface NativeUdp {
  open(host: string, port: number, receiveBufferBytes: number, maxBatchesHeld: number, flushMs: number, niceRaise: number, onBatch: NativeUdpCallback): NativeUdpOpened;
  close(handle: unknown): void;
}

export const NATIVE_UDP_FILE = "udp-recvmmsg.node";

/** Where the built addon is: beside the bundle (dist/), or in the repository's dist/ when run from source. */
function addonFile(): string {
  const fromSource = import.meta.url.endsWith(".ts");
  return fileURLToPath(new URL(fromSource ? `../../../dist/${NATIVE_UDP_FILE}` : `./${NATIVE_UDP_FILE}`, import.meta.url));
}

let loaded: { udp: NativeUdp } | { reason: string } | undefined;

/** The native receive path, or why not. Loaded once. */
export function loadNativeUdp(): { udp: NativeUdp } | { reason: string } {
  if (loaded) return loaded;
  if (process.platform !== "linux") return (loaded = { reason: `recvmmsg is Linux only (this is ${process.platform})` });
  const file = addonFile();
  if (!existsSync(file)) return (loaded = { reason: `${file} is not built (\`node scripts/build-native.mjs\` builds it with a C compiler and Node's headers, and says why not)` });
  try {
    return (loaded = { udp: createRequire(import.meta.url)(file) as NativeUdp });
  } catch (err) {
    return (loaded = { reason: `${file} does not load: ${err instanceof Error ? err.message : String(err)}` });
  }
}
