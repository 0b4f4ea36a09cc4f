import { execFileSync } from "node:child_process";

/** End-to-end tests run the real program, so build it once before any test file starts. */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
