/**
 * The UDP syslog socket, owned by a worker thread that does nothing but receive and batch (issue 16):
 * Node's dgram hands over one datagram per callback, and on the main thread every pause of that thread
 * (a batch's encoding, a GC, the stages in `start`) left the kernel's receive buffer (net.core.rmem_max,
 * 4 MiB on many machines: about 30 ms at 150k datagrams/s) to overflow. Here the datagrams are copied into
 * a batch buffer that is handed to the main thread whole (transferred, not copied) every UDP_BATCH_BYTES or
 * UDP_FLUSH_MS, whichever comes first.
 *
 * Batch layout, per datagram: u8 address length, the sender's address (latin1), u32 (LE) length, bytes.
 */
import dgram from "node:dgram";
import net from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { raiseThreadPriority } from "@unmeltable/core";
import { UDP_BATCH_BYTES, UDP_FLUSH_MS, UDP_NICE_RAISE } from "./udp-batching";
import type { UdpBatch, UdpReceiverInit, UdpReceiverReply } from "./udp-receiver";

const init = workerData as UdpReceiverInit;
// Above the other threads where allowed (root, CAP_SYS_NICE: what binds port 514 usually has one of them):
// in `start` the stages keep both cores busy, and a receiver that waits its turn for ~50 ms loses what
// overflows the kernel's buffer meanwhile. It does little with the CPU it gets. Elsewhere a no-op.
const raised = raiseThreadPriority(UDP_NICE_RAISE);
const port = parentPort!;
const post = (m: UdpReceiverReply, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

let buf = Buffer.allocUnsafeSlow(UDP_BATCH_BYTES);
let p = 0;
let count = 0;
/** Batches handed over and not yet taken in by the main thread: beyond maxBatchesHeld, datagrams are refused. */
let held = 0;
let refused = 0;
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  clearTimeout(timer);
  timer = undefined;
  if (count === 0 && refused === 0) return;
  const batch: UdpBatch = { kind: "batch", buffer: buf.buffer, bytes: p, count, refused };
  post(batch, [batch.buffer]);
  if (count > 0) held++;
  buf = Buffer.allocUnsafeSlow(UDP_BATCH_BYTES);
  p = 0;
  count = 0;
  refused = 0;
}

const socket = dgram.createSocket({ type: net.isIPv6(init.host) ? "udp6" : "udp4", reuseAddr: false });
socket.on("message", (msg, rinfo) => {
  if (held >= init.maxBatchesHeld) {
    // The main thread is this far behind: UDP cannot slow the sender down, so memory is bounded here.
    refused++;
    timer ??= setTimeout(flush, UDP_FLUSH_MS);
    return;
  }
  const address = rinfo.address.startsWith("::ffff:") ? rinfo.address.slice(7) : rinfo.address;
  const need = 1 + address.length + 4 + msg.length;
  if (p + need > buf.length) {
    flush();
    if (need > buf.length) buf = Buffer.allocUnsafeSlow(need);
  }
  buf[p] = address.length;
  p += 1 + buf.latin1Write(address, p + 1, address.length);
  buf.writeUInt32LE(msg.length, p);
  buf.set(msg, p + 4);
  p += 4 + msg.length;
  count++;
  if (p >= UDP_BATCH_BYTES) flush();
  else timer ??= setTimeout(flush, UDP_FLUSH_MS);
});
socket.on("error", () => undefined);
port.on("message", (m: "taken" | "close") => {
  if (m === "taken") held--;
  else
    socket.close(() => {
      flush();
      post({ kind: "closed" });
    });
});
socket.once("error", (err) => post({ kind: "error", message: err.message }));
socket.bind(init.port, init.host, () => {
  let receiveBufferBytes = 0;
  try {
    socket.setRecvBufferSize(init.receiveBufferBytes);
  } catch {
    // The kernel caps it at net.core.rmem_max; the default is what we get then.
  }
  try {
    receiveBufferBytes = socket.getRecvBufferSize();
  } catch {
    // not bound any more
  }
  post({ kind: "ready", port: socket.address().port, receiveBufferBytes, priorityRaised: raised });
});

declare module "node:buffer" {
  interface Buffer {
    latin1Write(s: string, offset: number, length: number): number;
  }
}
