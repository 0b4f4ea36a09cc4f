import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { cli, removeDir, startProgram, waitFor, type Program } from "../helpers/program";

/**
 * The data dir as the real program leaves it: private to the service user (directories 0700, files
 * 0600, whatever the umask it was started with), API tokens only as hashes, and the CLI still searching
 * without a token on the server's machine. Then an older data dir (0755/0644, tokens in clear) is
 * brought to the same state at start, its tokens still working.
 */

/** Every directory and file under `dir` (the data dir included) with its permission bits. */
function modes(dir: string): { path: string; kind: "dir" | "file"; mode: number }[] {
  const out: { path: string; kind: "dir" | "file"; mode: number }[] = [{ path: ".", kind: "dir", mode: statSync(dir).mode & 0o777 }];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push({ path: path.relative(dir, p), kind: "dir", mode: lstatSync(p).mode & 0o777 });
        walk(p);
      } else if (e.isFile()) out.push({ path: path.relative(dir, p), kind: "file", mode: lstatSync(p).mode & 0o777 });
    }
  };
  walk(dir);
  return out;
}

function notPrivate(dir: string) {
  return modes(dir).filter((e) => e.mode !== (e.kind === "dir" ? 0o700 : 0o600));
}

function tenantsDbBytes(dir: string): string {
  return ["tenants.db", "tenants.db-wal"]
    .map((f) => path.join(dir, f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString("latin1"))
    .join("\n");
}

const count = async (program: Program, token: string, q: string) => {
  const res = await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h`), { headers: { Authorization: `bearer ${token}` } });
  return { status: res.status, count: res.status === 200 ? ((await res.json()) as { count: number }).count : undefined };
};

describe("the data dir", () => {
  const programs: Program[] = [];
  // The programs start with a umask that lets group and others read: the program must set its own.
  const savedUmask = process.umask(0o022);
  afterAll(async () => {
    process.umask(savedUmask);
    for (const p of programs) {
      if (p.child.exitCode === null) await p.kill();
      await removeDir(p.dataDir);
    }
  });

  it("is private after start and after events are stored; the API token is shown once, never stored, and `unmeltable search` needs none", async () => {
    const program = await startProgram();
    programs.push(program);
    const apiToken = /API token\s+(\S+)\s+\(shown once/.exec(program.output())?.[1];
    const ingestToken = /ingest token\s+(\S+)/.exec(program.output())?.[1];
    expect(apiToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const marker = `dd${randomUUID().slice(0, 8)}`;
    const res = await fetch(program.url(`/bulk/${ingestToken}/tag/dd`), { method: "POST", body: `${marker} one\n${marker} two` });
    expect(res.status).toBe(200);
    await waitFor("the events searchable", async () => (await count(program, apiToken!, marker)).count === 2);
    expect((await count(program, "not-a-token", marker)).status).toBe(401);

    expect(modes(program.dataDir).map((e) => e.path)).toEqual(expect.arrayContaining(["tenants.db", "alerts.db", "queue", "index"]));
    expect(notPrivate(program.dataDir)).toEqual([]);
    expect(tenantsDbBytes(program.dataDir)).not.toContain(apiToken);

    // On the server's machine the CLI mints a token of its own for the run, and revokes it after.
    const out = await cli(["search", marker, "--url", program.url(""), "--data-dir", program.dataDir, "--from", "-1h", "--json"]);
    expect(out.trim().split("\n")).toHaveLength(2);
    const db = new Database(path.join(program.dataDir, "tenants.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT tenant, purpose FROM api_tokens").all()).toEqual([{ tenant: "default", purpose: "api" }]);
    } finally {
      db.close();
    }
    const list = await cli(["tenants", "list", "--data-dir", program.dataDir, "--json"]);
    expect(JSON.parse(list.trim())).toEqual({ name: "default", ingestToken, tier: "default" });
    // A second start shows no token: there is none to show.
    expect(await program.stop()).toBe(0);
    const again = await startProgram({ dataDir: program.dataDir });
    programs.push(again);
    expect(again.output()).toMatch(/API token\s+shown when created; a new one: unmeltable tenants rotate-token default/);
    expect(again.output()).not.toContain(apiToken);
    expect((await count(again, apiToken!, marker)).count).toBe(2);
  });

  it("of an older version (0755 directories, 0644 files, API tokens in clear) is made private at start, and its tokens keep working", async () => {
    // A data dir with a real queue and index, as an older version left it.
    const first = await startProgram();
    programs.push(first);
    const dir = first.dataDir;
    const old = { name: "default", ingestToken: randomUUID(), apiToken: randomUUID().replaceAll("-", "") };
    expect(await first.stop()).toBe(0);
    for (const f of ["tenants.db", "tenants.db-wal", "tenants.db-shm"]) rmSync(path.join(dir, f), { force: true });
    const script = `
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
      const db = new Database(${JSON.stringify(path.join(dir, "tenants.db"))});
      db.pragma("journal_mode = WAL");
      db.exec("CREATE TABLE tenants (name TEXT PRIMARY KEY, ingest_token TEXT NOT NULL UNIQUE, api_token TEXT NOT NULL UNIQUE, tier TEXT NOT NULL DEFAULT 'default', partition_spread INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, slice TEXT NOT NULL DEFAULT 'day', retention_days INTEGER NOT NULL DEFAULT 30)");
      db.prepare("INSERT INTO tenants (name, ingest_token, api_token, created_at) VALUES (?, ?, ?, 1)").run(${JSON.stringify(old.name)}, ${JSON.stringify(old.ingestToken)}, ${JSON.stringify(old.apiToken)});
      db.close();
    `;
    execFileSync(process.execPath, ["-e", script]);
    for (const e of modes(dir)) chmodSync(path.join(dir, e.path), e.kind === "dir" ? 0o755 : 0o644);
    expect(notPrivate(dir).length).toBeGreaterThan(5);
    expect(tenantsDbBytes(dir)).toContain(old.apiToken);

    const program = await startProgram({ dataDir: dir });
    programs.push(program);
    expect(notPrivate(dir)).toEqual([]);
    expect(program.output()).toMatch(/made the data dir private to this user: \d+ files and directories/);
    expect(tenantsDbBytes(dir)).not.toContain(old.apiToken);
    const marker = `old${randomUUID().slice(0, 8)}`;
    expect((await fetch(program.url(`/inputs/${old.ingestToken}`), { method: "POST", body: marker })).status).toBe(200);
    await waitFor("the event searchable with the old API token", async () => (await count(program, old.apiToken, marker)).count === 1);
  });
});
