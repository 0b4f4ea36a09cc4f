import { execFile, spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);
export const ROOT = path.resolve(import.meta.dirname, "../..");
export const CLI = path.join(ROOT, "dist/unmeltable.mjs");

/**
 * A port that is free for both TCP and UDP right now (syslog listens on both with one number).
 * Drawn below the kernel's ephemeral range (ip_local_port_range starts at 32768 on Linux), so
 * that no outgoing connection of a test running in parallel can take it as its local port
 * between this check and the program's bind.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (!tcpFree) continue;
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port");
}

export async function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "unmeltable-e2e-"));
}

export interface TenantTokens {
  name: string;
  ingestToken: string;
  apiToken: string;
}

export interface Program {
  dataDir: string;
  syslogPort: number;
  httpPort: number;
  tlsPort?: number;
  child: ChildProcess;
  output(): string;
  url(p: string): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash at an arbitrary moment. */
  kill(): Promise<void>;
}

type StartOptions = { dataDir?: string; args?: string[]; syslogPort?: number; httpPort?: number; tlsPort?: number; command?: "start" | "collector"; /** Node's own flags, before the program (e.g. a preload). */ nodeArgs?: string[] };

/**
 * How long the program may take to become healthy before the start counts as failed. The wait is for
 * the condition; this only says when to give up. On the 2-core machine the suite runs on, busy with
 * other work (load average 16-18), the program took 15-20 s to become healthy: a 20 s limit failed there.
 */
export const START_TIMEOUT_MS = 60_000;

/**
 * Starts the real program (the built CLI) and waits until /healthz says every part is ready (or the
 * program exits, which fails at once with its output). If a port this helper drew was taken by another
 * test in the meantime, it draws again.
 */
export async function startProgram(opts: StartOptions = {}): Promise<Program> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      const drewBoth = opts.syslogPort === undefined && opts.httpPort === undefined;
      if (!drewBoth || attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

async function startOnce(opts: StartOptions): Promise<Program> {
  const dataDir = opts.dataDir ?? (await tempDataDir());
  const syslogPort = opts.syslogPort ?? (await freePort());
  const httpPort = opts.httpPort ?? (await freePort());
  const args = [CLI, opts.command ?? "start", "--data-dir", dataDir, "--host", "127.0.0.1", "--syslog-port", String(syslogPort), "--http-port", String(httpPort)];
  if (opts.tlsPort !== undefined) args.push("--tls-port", String(opts.tlsPort));
  args.push(...(opts.args ?? []));
  const child = spawn(process.execPath, ["--enable-source-maps", ...(opts.nodeArgs ?? []), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = (p: string) => `http://127.0.0.1:${httpPort}${p}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`program exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(url("/healthz"), { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`program did not become healthy in ${START_TIMEOUT_MS / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dataDir,
    syslogPort,
    httpPort,
    tlsPort: opts.tlsPort,
    child,
    output: () => out,
    url,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export async function cli(args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 512 * 1024 * 1024 });
  return stdout;
}

/**
 * A tenant's ingest token and an API token for it. The data dir keeps API tokens only as hashes, so this
 * rotates the tenant's API token (`tenants rotate-token`) and returns the new one: call it once per data
 * dir, before handing the token around (a running server accepts the new token at once).
 */
export async function tenantTokens(dataDir: string, name = "default"): Promise<TenantTokens> {
  return JSON.parse(await cli(["tenants", "rotate-token", name, "--data-dir", dataDir, "--json"])) as TenantTokens;
}

export interface RawEvent {
  partition: number;
  offset: number;
  id: string;
  tenant: string;
  receivedAt: number;
  transport: string;
  remote: string;
  collector: string;
  tags: string[];
  raw: string;
  rawBytes?: string;
  flags?: string[];
  contentType?: string;
}

/** Every event in the raw topic, read through the real CLI (read-only, works while the server runs). */
export async function readTopic<T = RawEvent>(dataDir: string, topic = "raw"): Promise<T[]> {
  const out = await cli(["queue", "read", "--data-dir", dataDir, "--topic", topic]);
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr}`))));
    if (child.stdin) {
      child.stdin.on("error", () => undefined);
      child.stdin.end(input);
    }
  });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** GET an API path of the program as a tenant (its API token): the status and the JSON body. */
export async function apiGet(program: Program, p: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(program.url(p), { headers: { Authorization: `bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A suite's program: started (with `opts`), and its default tenant's tokens. */
export async function startWithTokens(opts: StartOptions = {}): Promise<{ program: Program; tokens: TenantTokens }> {
  const program = await startProgram(opts);
  return { program, tokens: await tenantTokens(program.dataDir) };
}

/**
 * After a suite: kills the program if it still runs, then `unmount`s what the test mounted in its data
 * dir, then removes the data dir (`dataDir`, for a suite whose program may not have started).
 */
export async function endProgram(program: Program | undefined, opts: { dataDir?: string; unmount?: () => Promise<void> } = {}): Promise<void> {
  if (program && program.child.exitCode === null) await program.kill();
  await opts.unmount?.();
  const dir = opts.dataDir ?? program?.dataDir;
  if (dir !== undefined) await removeDir(dir);
}
