import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The data dir holds every tenant's logs, its tokens and its alerts' webhook URLs: it is the service
 * user's alone. The program sets this umask when it starts, so what it creates is 0600 (files) and 0700
 * (directories) — SQLite's files, queue segments and index slices included — and `makeDataDirPrivate`
 * brings an older data dir (0644 files, 0755 directories) to the same modes.
 */
export const PRIVATE_UMASK = 0o077;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Sets the data dir and everything under it to 0700 (directories) and 0600 (files), creating the data
 * dir if needed. Symbolic links inside are neither followed nor changed (chmod would change their
 * target); the data dir itself may be one (the operator chose where it points). An
 * entry that cannot be changed (owned by another user) is reported, not fatal: the server still starts.
 */
export function makeDataDirPrivate(dataDir: string): { changed: number; failed: string[] } {
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  let changed = 0;
  const failed: string[] = [];
  const stack = [dataDir];
  const fix = (p: string, mode: number, current: number) => {
    if ((current & 0o7777) === mode) return;
    try {
      chmodSync(p, mode);
      changed++;
    } catch (err) {
      failed.push(`${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let st;
    try {
      st = dir === dataDir ? statSync(dir) : lstatSync(dir);
    } catch {
      continue; // removed meanwhile
    }
    if (!st.isDirectory()) continue;
    fix(dir, DIR_MODE, st.mode);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      failed.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          fix(p, FILE_MODE, lstatSync(p).mode);
        } catch {
          // removed meanwhile
        }
      }
    }
  }
  return { changed, failed };
}
