import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedQueue } from "@unmeltable/queue-embedded";
import { PartitionLog } from "@unmeltable/partition-log";
import { fillUp, mountTmpfs } from "../helpers/full-disk";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A directory on a fresh 4 MiB tmpfs, unmounted and removed after the test. */
async function smallDisk(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-full-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const fs = await mountTmpfs(dir, 4 * 1024 * 1024);
  cleanups.push(() => fs.unmount());
  return dir;
}

const rec = (value: string) => ({ key: "k", partition: 0, value: Buffer.from(value) });
const values = async (q: EmbeddedQueue) => (await q.reader.read("t", 0, 0, 10_000)).map((r) => r.value.toString());

describe("embedded queue on a full disk", () => {
  it("fails every write of the group commit, cuts the partial write off, and stays consistent and readable", async () => {
    const dir = await smallDisk();
    const queue = await EmbeddedQueue.open({ dir: path.join(dir, "q"), segmentBytes: 256 * 1024 });
    cleanups.push(() => queue.close());
    await queue.admin.ensureTopics([{ name: "t", partitions: 1 }]);
    const producer = queue.producer();
    await producer.send("t", [rec("before-1"), rec("before-2")]);
    const segmentDir = path.join(dir, "q", "topics", "t", "0");
    const sizeOf = async () => {
      let n = 0;
      for (const f of await readdir(segmentDir)) n += (await stat(path.join(segmentDir, f))).size;
      return n;
    };
    const sizeBefore = await sizeOf();

    const disk = await fillUp(dir);
    // Three sends in one group commit, each too big for the space left: all three fail, none half-stored.
    const big = (label: string) => ({ key: "k", partition: 0, value: Buffer.alloc(100_000, label) });
    const results = await Promise.allSettled([producer.send("t", [big("a")]), producer.send("t", [big("b")]), producer.send("t", [rec("small-in-failed-group")])]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(((r as PromiseRejectedResult).reason as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
    expect(await sizeOf()).toBe(sizeBefore);
    expect(await values(queue)).toEqual(["before-1", "before-2"]);
    expect((await queue.admin.offsets("t"))[0]!.end).toBe(2);

    await disk.free();
    const [after] = await producer.send("t", [rec("after")]);
    // The next record follows the last durable one: no gap, no trace of the failed group.
    expect(after!.offset).toBe(2);
    expect(await values(queue)).toEqual(["before-1", "before-2", "after"]);

    // And so it stays after a restart (recovery finds nothing torn to cut off).
    await queue.close();
    const reopened = await EmbeddedQueue.open({ dir: path.join(dir, "q"), segmentBytes: 256 * 1024 });
    cleanups.push(() => reopened.close());
    expect(await values(reopened)).toEqual(["before-1", "before-2", "after"]);
  });

  it("withdraws an append still waiting for its group commit, and writes one whose write has begun", async () => {
    const dir = await smallDisk();
    const log = await PartitionLog.open(path.join(dir, "p"), { segmentBytes: 1024 * 1024 });
    cleanups.push(() => log.close());
    const r = (v: string) => ({ key: "k", value: Buffer.from(v), timestamp: Date.now() });

    const beingWritten = new AbortController();
    const first = log.append([r("first")], beingWritten.signal);
    // The group commit has taken `first` and is writing it (setImmediate runs the flush before this).
    await new Promise((res) => setImmediate(res));
    beingWritten.abort();
    const waiting = new AbortController();
    const second = log.append([r("second")], waiting.signal).catch((err: Error) => err);
    waiting.abort();

    await expect(first).resolves.toBe(0);
    expect(await second).toMatchObject({ name: "AbortError" });
    const third = await log.append([r("third")]);
    expect(third).toBe(1);
    expect((await log.read(0, 10)).map((x) => x.value.toString())).toEqual(["first", "third"]);
  });
});
