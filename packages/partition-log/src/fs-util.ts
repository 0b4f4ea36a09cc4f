import { promises as fsp } from "node:fs";
import path from "node:path";

/** Makes a directory entry change (a created or renamed file) durable: fsync the directory itself. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Replaces a file atomically and durably: write a temporary file, fsync it, rename it over, fsync the dir. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const h = await fsp.open(tmp, "w");
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
