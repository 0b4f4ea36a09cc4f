/**
 * The archive worker in a process of its own, as a Lambda container runs it: one piece (argv[2], JSON:
 * the request, the brokers, the S3 endpoint) read from the Kafka test broker and written to S3. Prints
 * `read <offset> <bytes>` after every read (a test kills it from there) and, last, the piece's result as
 * JSON with the process's peak memory. TMPDIR is whatever the test gave it (a tiny tmpfs). With
 * `hangAfterBytes` it stops reading once that much was read and prints `hanging` (to be killed there).
 */
import { archivePiece, S3Store, type PieceRequest } from "@unmeltable/archive";
import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { createLogger } from "../../packages/runtime/src/logger";

const input = JSON.parse(process.argv[2]!) as { request: PieceRequest; brokers: string[]; endpoint: string; bucket: string; maxOpen?: number; partBytes?: number; holdBytes?: number; hangAfterBytes?: number };
const queue = new PlatformaticKafkaQueue({ brokers: input.brokers });
const store = new S3Store(input.bucket, "", { endpoint: input.endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
const started = performance.now();
try {
  const result = await archivePiece({
    queue,
    store,
    ...input.request,
    maxOpen: input.maxOpen,
    partBytes: input.partBytes,
    holdBytes: input.holdBytes,
    onRead: async (p) => {
      process.stdout.write(`read ${p.offset} ${p.bytes}\n`);
      // A worker that stops in the middle of a piece (a test then SIGKILLs it, as Lambda ends a timed-out one).
      if (input.hangAfterBytes !== undefined && p.bytes >= input.hangAfterBytes) {
        process.stdout.write("hanging\n");
        await new Promise(() => setInterval(() => undefined, 60_000));
      }
    },
    logger: createLogger({ format: "json" }),
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ result, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
} finally {
  await queue.close();
}
