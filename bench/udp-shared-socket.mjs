// bench/udp-shared-socket.mjs - issue 16 §1, a candidate receive path measured, not built: K child
// processes read ONE UDP socket (its handle sent to each over IPC; Node 20's dgram has no reusePort), each
// batching datagrams into 64 KiB buffers handed to the parent over IPC, as the receiver thread hands them
// to the main thread. K=0: the parent reads alone (BATCH=1: with the receiver thread's batching).
//   node bench/udp-shared-socket.mjs K PORT SECONDS      (bench/udp-shared-socket.sh drives it with blast)
import dgram from "node:dgram";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The receiver thread's per-datagram work (collector/src/udp-receiver-worker.ts): copy into a batch, hand it
 * on. A copy, on purpose: importing the worker's TypeScript means running this under tsx, and under tsx two
 * reader processes lost 20-24 % at 150k/s where this plain file loses 0.5-0.8 % (interleaved, 2026-12-07).
 */
function batcher(handOver) {
  let buf = Buffer.allocUnsafeSlow(65536);
  let p = 0;
  let count = 0;
  let timer;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (count === 0) return;
    handOver(count, buf.subarray(0, p));
    buf = Buffer.allocUnsafeSlow(65536);
    p = 0;
    count = 0;
  };
  return (msg, rinfo) => {
    const a = rinfo.address;
    if (p + 1 + a.length + 4 + msg.length > buf.length) flush();
    buf[p] = a.length;
    p += 1 + buf.latin1Write(a, p + 1, a.length);
    buf.writeUInt32LE(msg.length, p);
    buf.set(msg, p + 4);
    p += 4 + msg.length;
    count++;
    if (p >= 65536) flush();
    else timer ??= setTimeout(flush, 1);
  };
}

if (process.argv[2] === "child") {
  const onMessage = batcher((count, bytes) => process.send({ count, bytes }));
  process.on("message", (m, handle) => {
    if (m === "socket") handle.on("message", onMessage);
  });
} else {
  const [K, port, seconds] = process.argv.slice(2).map(Number);
  const socket = dgram.createSocket("udp4");
  await new Promise((resolve) => socket.bind(port, "127.0.0.1", resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  let total = 0;
  const children = [];
  for (let i = 0; i < K; i++) {
    const child = fork(fileURLToPath(import.meta.url), ["child"], { serialization: "advanced" });
    child.on("message", (m) => (total += m.count));
    await new Promise((resolve) => child.send("socket", socket, resolve));
    children.push(child);
  }
  // The parent's copy of the socket is closed: only the children read it.
  if (K > 0) socket.close();
  else socket.on("message", process.env.BATCH ? batcher((count) => (total += count)) : () => total++);
  console.log("ready");
  setTimeout(() => {
    console.log(`received ${total}`);
    for (const c of children) c.kill();
    process.exit(0);
  }, seconds * 1000);
}
