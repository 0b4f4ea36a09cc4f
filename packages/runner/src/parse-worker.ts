import { parentPort } from "node:worker_threads";
import { parsedRawTransfers, parseRawRecords, type ParseRawOptions } from "@unmeltable/core";
import type { ParseReply, ParseRequest } from "./parse-thread";

/**
 * The process stage's parsing thread (parse-thread.ts). It runs at the process's priority: a lower one
 * measured no gain for ingest (the thread of its own is what freed the main thread) and, on a machine busy
 * with other work, let the other work take the parsing's turns (bench/RESULTS.md, issue 16).
 */

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
