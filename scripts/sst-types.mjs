// Generates SST's platform (.sst/platform: the sst/aws component sources, config.d.ts, and the Pulumi
// packages SST pins) so `tsc -p tsconfig.infra.json` can check sst.config.ts and stacks/ against SST's
// real types. Offline except for the npm registry (the flags are read by SST's CLI: cmd/sst/main.go and
// pkg/flag/flag.go in https://github.com/anomalyco/sst):
//   SST_SKIP_DEPENDENCY_CHECK=1  skip the Pulumi CLI and Bun downloads from GitHub (only deploys need them)
//   NO_BUN=1                     install the platform's packages with npm
//   SST_TELEMETRY_DISABLED=1
// Runs `sst install` only when .sst/platform is missing or was made by another SST version (about a
// minute and 320 MB the first time); `--force` reinstalls. `.sst/` is git-ignored.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const platform = path.join(root, ".sst", "platform");
const wanted = JSON.parse(readFileSync(path.join(root, "node_modules", "sst", "package.json"), "utf8")).version;
const have = existsSync(path.join(platform, "version")) ? readFileSync(path.join(platform, "version"), "utf8").trim() : undefined;
const ready = have === wanted && existsSync(path.join(platform, "config.d.ts")) && existsSync(path.join(platform, "node_modules", "@pulumi", "aws"));

if (ready && !process.argv.includes("--force")) {
  if (!process.argv.includes("--quiet")) console.log(`.sst/platform is SST ${have}: up to date`);
  process.exit(0);
}
console.log(`generating .sst/platform for SST ${wanted} (sst install, offline mode)...`);
const r = spawnSync(path.join(root, "node_modules", ".bin", "sst"), ["install", "--stage", "ci"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, SST_SKIP_DEPENDENCY_CHECK: "1", NO_BUN: "1", SST_TELEMETRY_DISABLED: "1" },
});
if (r.status !== 0 || !existsSync(path.join(platform, "config.d.ts"))) {
  console.error("sst install failed: .sst/platform was not generated (it needs the npm registry)");
  process.exit(r.status || 1);
}
