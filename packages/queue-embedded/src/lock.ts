import { promises as fsp } from "node:fs";

/**
 * A pid lock file: one process owns a queue directory. A lock left by a process that no longer exists
 * (after kill -9 or a power cut) is taken over, so a restart never needs a manual cleanup.
 */
export async function acquireLock(file: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await fsp.open(file, "wx");
      await h.writeFile(String(process.pid));
      await h.sync();
      await h.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(await fsp.readFile(file, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) throw new QueueInUseError(file.replace(/\/LOCK$/, ""), owner);
      await fsp.rm(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

/** Another live process (a running server) owns the queue directory. */
export class QueueInUseError extends Error {
  override name = "QueueInUseError";
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the queue in ${dir} is in use by process ${pid}; stop it first`);
  }
}

export async function releaseLock(file: string): Promise<void> {
  const owner = await fsp.readFile(file, "utf8").catch(() => "");
  if (owner === String(process.pid)) await fsp.rm(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
