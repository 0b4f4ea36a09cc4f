import { execFileSync } from "node:child_process";

/** End-to-end tests run the real program, so build it once before any test file starts. */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  // The Kafka test broker too (cached; minutes the first time): built here, no test's hook waits for it.
  // A machine that cannot build it still runs the other tests; the Kafka ones then fail with the reason.
  try {
    execFileSync(process.execPath, ["scripts/build-test-broker.mjs"], { stdio: "inherit" });
  } catch {
    process.stderr.write("global setup: the Kafka test broker did not build (see above); the Kafka tests will fail\n");
  }
}
