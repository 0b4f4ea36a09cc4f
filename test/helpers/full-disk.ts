import { execFile } from "node:child_process";
import { mkdir, open, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { removeDir, tempDataDir } from "./program";

const execFileP = promisify(execFile);

/**
 * A real, small filesystem (tmpfs) mounted on `dir`, so that a test can fill it up and free it again.
 * Needs root (or CAP_SYS_ADMIN), as the tests have here and in CI; elsewhere it fails with a clear message.
 */
export async function mountTmpfs(dir: string, bytes: number): Promise<{ unmount(): Promise<void> }> {
  try {
    await execFileP("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir]);
  } catch (err) {
    throw new Error(`the disk-full tests mount a small tmpfs and need root (or CAP_SYS_ADMIN): ${(err as Error).message}`);
  }
  let mounted = true;
  return {
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      // A process that still has a file open there (a server killed a moment ago) keeps it busy: detach it.
      await execFileP("umount", [dir]).catch(() => execFileP("umount", ["-l", dir]));
    },
  };
}

/** Fills the filesystem holding `dir` with one file until ENOSPC; returns a function that frees the space again. */
export async function fillUp(dir: string): Promise<{ free(): Promise<void> }> {
  const file = path.join(dir, "filler");
  const h = await open(file, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    // Halve the chunk at each ENOSPC: the last free bytes are taken too. (Other files' last pages may
    // still take a few bytes each: write more than a page to be sure to fail.)
    for (let size = chunk.length; size >= 1; ) {
      try {
        await h.write(chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        size >>= 1;
      }
    }
  } finally {
    await h.close();
  }
  return { free: () => rm(file, { force: true }) };
}

/** A new data dir whose folder `sub` (the queue's, the index's) is a small tmpfs of `bytes`. */
export async function dataDirWithSmallDisk(sub: string, bytes: number): Promise<{ dataDir: string; unmount(): Promise<void> }> {
  const dataDir = await tempDataDir();
  try {
    await mkdir(path.join(dataDir, sub));
    return { dataDir, unmount: (await mountTmpfs(path.join(dataDir, sub), bytes)).unmount };
  } catch (err) {
    await removeDir(dataDir);
    throw err;
  }
}
