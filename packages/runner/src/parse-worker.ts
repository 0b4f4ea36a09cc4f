import os from "node:os";
import { parentPort } from "node:worker_threads";
import { parsedRawTransfers, parseRawRecords, type ParseRawOptions } from "@unmeltable/core";
import type { ParseReply, ParseRequest } from "./parse-thread";

/**
 * The process stage's parsing thread (parse-thread.ts). It runs below the main thread's priority: on
 * Linux a thread has a nice value of its own, and raising this one's tells the kernel that accepting
 * syslog on the main thread comes first when the cores are short; the parsing catches up from the
 * durable queue.
 */
try {
  os.setPriority(0, 10);
} catch {
  // Not allowed or not supported here: the thread runs at the process's priority.
}

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
