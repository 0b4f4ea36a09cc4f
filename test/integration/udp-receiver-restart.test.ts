import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryLogger, startWorker } from "@unmeltable/core";
import { startUdpReceiver, type UdpReceiver, type UdpReceiverInit } from "../../packages/collector/src/udp-receiver";
import { run, waitFor } from "../helpers/program";
import { expectRaisedWhereAllowed } from "../helpers/thread-nice";

/**
 * The UDP receiver thread (collector/src/udp-receiver.ts) that dies after it started is logged and started
 * again on the same port, so that syslog over UDP does not stop for good while TCP and HTTP go on. The
 * thread is killed from outside (terminate: what an exception or the memory limit does to it); a real
 * sender (`logger` from util-linux) sends before and after.
 */

let receiver: UdpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function send(port: number, text: string): Promise<void> {
  await run("logger", ["-n", "127.0.0.1", "-P", String(port), "-d", "--rfc5424", text]);
}

describe("the UDP receiver thread", () => {
  it("is started again on the same port after it dies, and receives again", async () => {
    const logger = new MemoryLogger();
    const threads: Worker[] = [];
    const received: { text: string; remote: string }[] = [];
    receiver = await startUdpReceiver(
      { host: "127.0.0.1", port: 0, receiveBufferBytes: 1 << 20, maxBatchesHeld: 16 },
      (frames, remote) => {
        for (const f of frames) received.push({ text: f.toString(), remote });
      },
      () => undefined,
      logger,
      (init: UdpReceiverInit) => {
        const w = startWorker(new URL("../../packages/collector/src/udp-receiver.ts", import.meta.url).href, "none.mjs", "udp-receiver-worker.ts", init);
        threads.push(w);
        return w;
      },
    );
    const port = receiver.port;
    expect(port).toBeGreaterThan(0);

    await send(port, "before the thread dies");
    await waitFor("the first datagram", async () => received.some((r) => r.text.includes("before the thread dies")), 30_000);
    expect(received[0]!.remote).toBe("127.0.0.1");

    await threads[0]!.terminate();
    await waitFor("the receiver started again", async () => logger.lines.some((l) => l.level === "info" && l.message.includes("receiver thread started again")), 30_000);
    const failed = logger.lines.find((l) => l.level === "error" && l.message.includes("the receiver thread failed"));
    expect(failed?.fields).toMatchObject({ port, restartInMs: 1000 });
    expect(threads).toHaveLength(2);

    // The new thread owns the same port: a sender configured once keeps working.
    await send(port, "after the restart");
    await waitFor("a datagram after the restart", async () => received.some((r) => r.text.includes("after the restart")), 30_000);
    expect(received.filter((r) => r.text.includes("before the thread dies"))).toHaveLength(1);
  });

  it("is not started again once closed", async () => {
    const logger = new MemoryLogger();
    let started = 0;
    const r = await startUdpReceiver({ host: "127.0.0.1", port: 0, receiveBufferBytes: 1 << 20, maxBatchesHeld: 16 }, () => undefined, () => undefined, logger, (init) => {
      started++;
      return startWorker(new URL("../../packages/collector/src/udp-receiver.ts", import.meta.url).href, "none.mjs", "udp-receiver-worker.ts", init);
    });
    await r.close();
    // Past the first restart's pause: nothing was started again, nothing logged as a failure.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(started).toBe(1);
    expect(logger.lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("runs above the process's priority where that is allowed (root, CAP_SYS_NICE), and says whether it does", async () => {
    receiver = await expectRaisedWhereAllowed(() =>
      startUdpReceiver({ host: "127.0.0.1", port: 0, receiveBufferBytes: 1 << 20, maxBatchesHeld: 16 }, () => undefined, () => undefined, new MemoryLogger(), (init) =>
        startWorker(new URL("../../packages/collector/src/udp-receiver.ts", import.meta.url).href, "none.mjs", "udp-receiver-worker.ts", init),
      ),
    );
  });
});
