import { parentPort } from "node:worker_threads";
import { lowerThreadPriority, parsedRawTransfers, parseRawRecords, type ParseRawOptions } from "@unmeltable/core";
import type { ParseReply, ParseRequest } from "./parse-thread";

/**
 * The process stage's parsing thread (parse-thread.ts), 10 nice levels down: below the threads that accept syslog
 * and HTTP and the index writer (5 down), the last in line for the cores when they are short — the
 * parsing catches up from the durable queue.
 */
lowerThreadPriority(10);

const port = parentPort!;
port.on("message", (m: ParseRequest) => {
  let reply: ParseReply;
  try {
    const values: Uint8Array[] = [];
    let start = 0;
    for (const end of m.ends) {
      values.push(m.values.subarray(start, end));
      start = end;
    }
    const parsed = parseRawRecords(values, m.options satisfies ParseRawOptions);
    reply = { id: m.id, parsed };
    port.postMessage(reply, parsedRawTransfers(parsed));
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
    port.postMessage(reply);
  }
});
