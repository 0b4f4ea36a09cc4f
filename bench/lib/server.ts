import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface BenchServer {
  child: ChildProcess;
  dataDir: string;
  syslogPort: number;
  httpPort: number;
  ingestToken: string;
  apiToken: string;
  metric(name: string, labels?: string): Promise<number>;
  stats(): { cpuSeconds: number; peakRssMiB: number };
  stop(): Promise<void>;
}

/**
 * Builds and starts the real program on a fresh data dir and random ports (or `syslogPort`);
 * `program`: another build instead (e.g. a copy of an older commit's dist/ under bench/out/, for a
 * before/after), not rebuilt.
 */
export async function startServer(extraArgs: string[] = [], opts: { syslogPort?: number; program?: string } = {}): Promise<BenchServer> {
  const program = opts.program;
  if (program === undefined) execFileSync(process.execPath, [path.join(ROOT, "scripts/build.mjs")], { stdio: "ignore" });
  const main = program === undefined ? path.join(ROOT, "dist/unmeltable.mjs") : path.resolve(program);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-bench-"));
  const syslogPort = opts.syslogPort ?? 20000 + Math.floor(Math.random() * 20000);
  const httpPort = syslogPort + 1;
  const nodeArgs = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, main, "start", "--data-dir", dataDir, "--host", "127.0.0.1", "--syslog-port", String(syslogPort), "--http-port", String(httpPort), ...extraArgs], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // API tokens are stored hashed (`tenants list` cannot show one): the bench takes a new one for itself.
  const list = execFileSync(process.execPath, [main, "tenants", "rotate-token", "default", "--data-dir", dataDir, "--json"]).toString();
  const t = JSON.parse(list.split("\n")[0]!) as { ingestToken: string; apiToken: string };
  return {
    child,
    dataDir,
    syslogPort,
    httpPort,
    ingestToken: t.ingestToken,
    apiToken: t.apiToken,
    metric: async (name, labels) => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
      return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
    },
    stats: () => {
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100, peakRssMiB: Math.round(Number(status.match(/VmHWM:\s+(\d+) kB/)![1]) / 1024) };
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
