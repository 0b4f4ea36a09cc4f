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
    const tid = threadId();
    if (tid === undefined) return false;
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
    return true;
  } catch {
    return false;
  }
}

/**
 * Raises the calling thread's scheduling priority by `steps` nice levels above the process's (at most to
 * -20), where it is allowed: Linux lets only root or CAP_SYS_NICE go above the process's nice value, and
 * elsewhere this returns false with nothing changed. For threads that must never wait for the CPU and do
 * little with it (the UDP receiver: the kernel drops what its receive buffer cannot hold while it waits).
 */
export function raiseThreadPriority(steps: number): boolean {
  try {
    const tid = threadId();
    if (tid === undefined) return false;
    const now = os.getPriority(tid);
    const wanted = Math.max(-20, now - steps);
    if (wanted === now) return false;
    os.setPriority(tid, wanted);
    return os.getPriority(tid) === wanted;
  } catch {
    return false;
  }
}

/** The calling thread's id on Linux (/proc/thread-self → "<pid>/task/<tid>"); throws where there is no /proc. */
function threadId(): number | undefined {
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  return Number.isInteger(tid) && tid > 0 ? tid : undefined;
}
