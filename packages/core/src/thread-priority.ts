import { readlinkSync } from "node:fs";
import os from "node:os";

/**
 * Lowers the calling thread's scheduling priority by `steps` nice levels below the process's (at most to 19,
 * the lowest; relative, so that a program started under `nice` keeps its threads' order). On Linux a thread has a
 * nice value of its own, and setpriority given a thread id changes just that thread: the index's query
 * readers step behind the threads that ingest, so that a query takes what CPU ingest leaves.
 *
 * Returns whether it took effect: elsewhere (not Linux, or not allowed) the thread keeps the process's
 * priority, which is correct, only less polite.
 */
export function lowerThreadPriority(steps: number): boolean {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
    return true;
  } catch {
    return false;
  }
}
