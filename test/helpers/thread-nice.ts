import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { expect } from "vitest";

/** Whether this process has a capability in its effective set (linux/capability.h numbers). */
export function hasCapability(bit: number): boolean {
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
  return (capEff & (1n << BigInt(bit))) !== 0n;
}

export const CAP_NET_ADMIN = 12;
const CAP_SYS_NICE = 23;

/** Whether this process may raise a thread above its own nice value (CAP_SYS_NICE). */
export function mayRaisePriority(): boolean {
  return hasCapability(CAP_SYS_NICE);
}

/** Nice values of this process's threads (field 19 of /proc/self/task/TID/stat). */
export function threadNices(): number[] {
  return readdirSync("/proc/self/task").flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      return [Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

/**
 * Starts something that runs one thread `by` nice levels above the process where that is allowed (root,
 * CAP_SYS_NICE) and says whether it did: checks what it says against the threads' nice values in /proc.
 */
export async function expectRaisedWhereAllowed<T extends { priorityRaised: boolean }>(start: () => Promise<T>, by = 5): Promise<T> {
  const processNice = os.getPriority();
  const above = threadNices().filter((n) => n < processNice).length;
  const started = await start();
  expect(started.priorityRaised).toBe(mayRaisePriority() && processNice > -20);
  const raised = threadNices().filter((n) => n < processNice);
  if (started.priorityRaised) {
    expect(raised.length).toBe(above + 1);
    expect(raised).toContain(Math.max(-20, processNice - by));
  } else {
    expect(raised.length).toBe(above);
  }
  return started;
}
