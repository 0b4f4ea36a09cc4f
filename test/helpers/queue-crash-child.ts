// Child process for the crash test: appends records as fast as it can and prints each acknowledged
// offset range to stdout, until the parent kills it with SIGKILL.
import { EmbeddedQueue } from "@unmeltable/queue-embedded";

const dir = process.argv[2]!;
const queue = await EmbeddedQueue.open({ dir, segmentBytes: 256 * 1024 });
await queue.admin.ensureTopics([{ name: "crash", partitions: 2 }]);
const producer = queue.producer();
process.stdout.write("ready\n");
let n = 0;
for (;;) {
  const batch = Array.from({ length: 50 }, () => {
    const i = n++;
    return { key: `k${i % 2}`, partition: i % 2, value: Buffer.from(`record-${i}-${"x".repeat(i % 300)}`) };
  });
  // Several sends in flight at once, as the collector does, so group commits really group.
  const parts = [batch.slice(0, 25), batch.slice(25)];
  await Promise.all(
    parts.map(async (part) => {
      const positions = await producer.send("crash", part);
      process.stdout.write(positions.map((p, i) => `${part[i]!.value.toString().split("-")[1]} ${p.partition} ${p.offset}`).join("\n") + "\n");
    }),
  );
}
