import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach } from "vitest";

/**
 * A maker of temporary directories (`unmeltable-<name>-…` in the OS's temp dir) for one test file: each
 * is removed after its test, or with `after: "all"` after the file's last test. Call it at the top of
 * the file, where vitest takes the hook.
 */
export function tempDirs(name: string, after: "each" | "all" = "each"): () => string {
  const dirs: string[] = [];
  (after === "each" ? afterEach : afterAll)(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(path.join(os.tmpdir(), `unmeltable-${name}-`));
    dirs.push(d);
    return d;
  };
}
