import { execFile, execFileSync, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryLogger } from "@unmeltable/core";
import { loadNativeUdp } from "../../packages/collector/src/udp-native";
import { startUdpReceiver, type UdpReceiver, type UdpReceiverInit } from "../../packages/collector/src/udp-receiver";
import { run, waitFor } from "../helpers/program";
import { CAP_NET_ADMIN, expectRaisedWhereAllowed, hasCapability } from "../helpers/thread-nice";

/**
 * The UDP socket's native receive path (packages/collector/native/udp-recvmmsg.c, built into dist/ by the
 * tests' global set-up): datagrams from real senders (`logger` from util-linux; Node's dgram for sizes
 * logger will not send) arrive whole, once, with their sender's address, on IPv4 and dual-stack sockets;
 * memory stays bounded while the JavaScript thread cannot take batches (every datagram is delivered or
 * counted refused, none vanishes); a port in use is a clear error; close delivers what was received.
 */

let receiver: UdpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

interface Received {
  text: string;
  remote: string;
}

async function start(init: Partial<UdpReceiverInit> & { host: string }, received: Received[], refused: { n: number } = { n: 0 }): Promise<UdpReceiver> {
  return startUdpReceiver(
    { port: 0, receiveBufferBytes: 1 << 20, maxBatchesHeld: 16, receivePath: "native", ...init },
    (frames, remote) => {
      for (const f of frames) received.push({ text: f.toString("latin1"), remote });
    },
    (n) => (refused.n += n),
    new MemoryLogger(),
  );
}

/** A loopback with a long IPv6 address, in a network namespace of the test's own (unshare, as an unprivileged user too). */
const LONG_IPV6_SETUP = "ip link set lo up && ip -6 addr add 2001:db8::1234/128 dev lo nodad";
const SBIN_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;
const namespaces = spawnSync("unshare", ["-rn", "sh", "-c", LONG_IPV6_SETUP], { stdio: "ignore", env: { ...process.env, PATH: SBIN_PATH } }).status === 0;

const logger = (host: string, port: number, lines: string[]) => run("logger", ["-n", host, "-P", String(port), "-d", "--rfc5424"], lines.join("\n") + "\n");

describe("the native UDP receive path", () => {
  it("is built here (the program receives UDP with it by default)", () => {
    const native = loadNativeUdp();
    expect("reason" in native ? native.reason : "loaded").toBe("loaded");
  });

  it("delivers every datagram of a real sender once, in order, with its address", async () => {
    const received: Received[] = [];
    receiver = await start({ host: "127.0.0.1" }, received);
    expect(receiver.path).toBe("native");
    expect(receiver.port).toBeGreaterThan(0);
    expect(receiver.receiveBufferBytes).toBeGreaterThan(0);
    const lines = Array.from({ length: 500 }, (_, i) => `native-order-${i}`);
    await logger("127.0.0.1", receiver.port, lines);
    await waitFor("500 datagrams", async () => received.length >= 500, 30_000);
    expect(received.map((r) => r.text.slice(r.text.indexOf("native-order-")))).toEqual(lines);
    expect(new Set(received.map((r) => r.remote))).toEqual(new Set(["127.0.0.1"]));
    expect(received[0]!.text).toMatch(/^<13>1 \d{4}-/);
  });

  it("takes IPv4 and IPv6 senders on a dual-stack socket, IPv4 shown as IPv4", async () => {
    const received: Received[] = [];
    receiver = await start({ host: "::" }, received);
    await logger("127.0.0.1", receiver.port, ["from-v4"]);
    await logger("::1", receiver.port, ["from-v6"]);
    await waitFor("both datagrams", async () => received.length >= 2, 30_000);
    expect(received.find((r) => r.text.endsWith("from-v4"))?.remote).toBe("127.0.0.1");
    expect(received.find((r) => r.text.endsWith("from-v6"))?.remote).toBe("::1");
  });

  it("delivers a datagram of 60,000 bytes whole, beside small ones", async () => {
    const received: Received[] = [];
    receiver = await start({ host: "127.0.0.1" }, received);
    const big = "<14>" + "x".repeat(60_000 - 5) + "!";
    const socket = dgram.createSocket("udp4");
    try {
      for (const m of ["small-1", big, "small-2"]) await new Promise<void>((resolve, reject) => socket.send(m, receiver!.port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
    } finally {
      socket.close();
    }
    await waitFor("three datagrams", async () => received.length >= 3, 30_000);
    expect(received.map((r) => r.text.length)).toEqual([7, 60_000, 7]);
    expect(received[1]!.text).toBe(big);
  });

  it("bounds what waits for a busy JavaScript thread: every datagram is delivered or counted refused", async () => {
    const received: Received[] = [];
    const refused = { n: 0 };
    // One batch may wait; the main thread is then blocked for the whole send (spawnSync), so the
    // receiving thread holds one batch and must refuse the rest instead of queueing them.
    receiver = await start({ host: "127.0.0.1", maxBatchesHeld: 1, receiveBufferBytes: 4 << 20 }, received, refused);
    const N = 3000;
    const lines = Array.from({ length: N }, (_, i) => `held-${i}`).join("\n") + "\n";
    const sent = spawnSync("logger", ["-n", "127.0.0.1", "-P", String(receiver.port), "-d", "--rfc5424"], { input: lines });
    expect(sent.status).toBe(0);
    await waitFor("every datagram delivered or refused", async () => received.length + refused.n >= N, 30_000);
    expect(received.length + refused.n).toBe(N);
    expect(refused.n).toBeGreaterThan(0);
    expect(received.length).toBeGreaterThan(0);
    // What was delivered is whole and not repeated.
    expect(new Set(received.map((r) => r.text.slice(r.text.indexOf("held-")))).size).toBe(received.length);
  });

  it("hands over a batch once it is flushMs old even while datagrams keep coming, not only when full", async () => {
    const native = loadNativeUdp();
    if (!("udp" in native)) throw new Error(native.reason);
    let received = 0;
    let sent = 0;
    let sending = true;
    let whileSending = 0;
    // A 100 ms flush and a datagram every ~2 ms: the socket never goes quiet for 100 ms, and what is sent
    // in a second (~500 × 40 bytes) stays far below a full 64 KiB batch.
    const opened = native.udp.open("127.0.0.1", 0, 1 << 20, 16, 100, 0, (batch, count) => {
      if (batch && count > 0) {
        received += count;
        if (sending) whileSending++;
      }
    });
    const socket = dgram.createSocket("udp4");
    try {
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        await new Promise<void>((resolve) => socket.send("<14>a steady trickle", opened.port, "127.0.0.1", () => resolve()));
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      sending = false;
      await waitFor("every datagram", async () => received >= sent, 30_000);
    } finally {
      socket.close();
      native.udp.close(opened.handle);
    }
    expect(whileSending).toBeGreaterThan(0);
  });

  it("is started again on the same port after its thread fails, and receives again", async () => {
    // In a child process (test/fixtures/children/udp-native-restart.ts): it closes the socket's descriptor
    // under the thread, which no other file of that quiet process can take meanwhile.
    const { stdout } = await run(process.execPath, ["--import", "tsx", "test/fixtures/children/udp-native-restart.ts"]);
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { port: number; path: string; failed?: { reason: string; port: number }; restarted: boolean; got: string[] };
    expect(result.path).toBe("native");
    expect(result.failed).toMatchObject({ reason: "udp recvmmsg: Bad file descriptor", port: result.port });
    expect(result.restarted).toBe(true);
    expect(result.got).toEqual(["<13>after the restart"]);
  });

  it("gets a receive buffer past net.core.rmem_max where allowed (CAP_NET_ADMIN, as rsyslog does as root), else what the cap allows", async () => {
    const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    const asked = Math.min(rmemMax * 2, 1 << 28);
    receiver = await start({ host: "127.0.0.1", receiveBufferBytes: asked }, []);
    // Linux reports twice what it grants (its bookkeeping), capped at twice rmem_max without the capability.
    expect(receiver.receiveBufferBytes).toBe(hasCapability(CAP_NET_ADMIN) || asked <= rmemMax ? asked * 2 : rmemMax * 2);
  });

  it.skipIf(!namespaces)("stays within its buffers when IPv6's largest datagrams from a long address follow a refused batch (an AddressSanitizer build)", async () => {
    // A batch refused past maxBatchesHeld keeps its 64 KiB buffer; 65,527 bytes from "2001:db8::1234" need
    // more than that. The child (test/fixtures/children/udp-native-big-datagrams.mjs) runs an ASan build of
    // the addon, which fails the process on any write past a buffer.
    const dir = mkdtempSync(path.join(tmpdir(), "udp-asan-"));
    try {
      const addon = path.join(dir, "udp-recvmmsg-asan.node");
      const include = path.resolve(path.dirname(process.execPath), "../include/node");
      execFileSync("cc", ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer", "-shared", "-fPIC", `-I${include}`, "-o", addon, "packages/collector/native/udp-recvmmsg.c", "-lpthread"]);
      const libasan = execFileSync("cc", ["-print-file-name=libasan.so"], { encoding: "utf8" }).trim();
      expect(path.isAbsolute(libasan)).toBe(true);
      const { stdout } = await promisify(execFile)("unshare", ["-rn", "sh", "-c", `${LONG_IPV6_SETUP} && exec "$0" test/fixtures/children/udp-native-big-datagrams.mjs "$1"`, process.execPath, addon], {
        env: { ...process.env, PATH: SBIN_PATH, LD_PRELOAD: libasan, ASAN_OPTIONS: "detect_leaks=0" },
      });
      const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { sent: number; got: number; refused: number };
      expect(result.got + result.refused).toBe(result.sent);
      expect(result.refused).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says clearly when its port is taken", async () => {
    receiver = await start({ host: "127.0.0.1" }, []);
    await expect(start({ host: "127.0.0.1", port: receiver.port }, [])).rejects.toThrow(/udp bind: Address already in use/);
  });

  it("delivers what it received before close, and nothing after", async () => {
    const received: Received[] = [];
    const r = await start({ host: "127.0.0.1" }, received);
    await logger("127.0.0.1", r.port, ["before-close"]);
    await waitFor("the datagram", async () => received.length >= 1, 30_000);
    await r.close();
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.send("after-close", r.port, "127.0.0.1", () => resolve()));
    socket.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.map((x) => x.text.slice(x.text.lastIndexOf(" ") + 1))).toEqual(["before-close"]);
  });

  it("runs its thread above the process's priority where allowed (root, CAP_SYS_NICE), and says whether it does", async () => {
    receiver = await expectRaisedWhereAllowed(() => start({ host: "127.0.0.1" }, []));
  });
});
