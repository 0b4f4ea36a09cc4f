import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { defaultOpenSlices, fdLimit, splitOpenSlices } from "@unmeltable/index-sqlite";
import { buildCli } from "@unmeltable/runtime";

/** Parses `argv` for a run command, its action replaced so that nothing starts; the options it got. */
async function parseRun(command: "start" | "stages", argv: string[]): Promise<Record<string, unknown>> {
  const cli = buildCli();
  cli.exitOverride();
  const cmd = cli.commands.find((c) => c.name() === command)! as Command;
  let got: Record<string, unknown> | undefined;
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.action((opts: Record<string, unknown>) => {
    got = opts;
  });
  await cli.parseAsync(["node", "unmeltable", command, ...argv]);
  return got!;
}

describe("--index-open-slices", () => {
  afterEach(() => {
    delete process.env.UNMELTABLE_INDEX_OPEN_SLICES;
  });

  it("takes a positive whole number, from the flag or UNMELTABLE_INDEX_OPEN_SLICES", async () => {
    expect((await parseRun("start", ["--index-open-slices", "7"])).indexOpenSlices).toBe(7);
    process.env.UNMELTABLE_INDEX_OPEN_SLICES = "300";
    expect((await parseRun("stages", [])).indexOpenSlices).toBe(300);
    // The flag wins over the environment.
    expect((await parseRun("stages", ["--index-open-slices", "9"])).indexOpenSlices).toBe(9);
  });

  it("refuses zero, negative and non-numbers with the flag's name", async () => {
    for (const bad of ["0", "-3", "lots", "2.5"]) {
      await expect(parseRun("start", ["--index-open-slices", bad])).rejects.toThrow(/--index-open-slices.*positive integer/);
    }
  });

  it("defaults to what the open-files limit allows, and says so in the help", async () => {
    expect((await parseRun("start", [])).indexOpenSlices).toBe(defaultOpenSlices(fdLimit()));
    const cli = buildCli();
    const help = cli.commands.find((c) => c.name() === "start")!.helpInformation().replace(/\s+/g, " ");
    expect(help).toMatch(/--index-open-slices <n>/);
    expect(help).toContain(`default: ${defaultOpenSlices(fdLimit())}: a quarter of the open-files limit`);
  });
});

describe("the default number of open slices", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads the soft open-files limit from /proc/self/limits, and falls back to 1024", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "unmeltable-limits-"));
    const limits = path.join(dir, "limits");
    await writeFile(limits, "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            4096                 524288               files     \n");
    expect(fdLimit(limits)).toBe(4096);
    await writeFile(limits, "Max open files            unlimited            unlimited            files     \n");
    expect(fdLimit(limits)).toBe(Number.MAX_SAFE_INTEGER);
    expect(fdLimit(path.join(dir, "missing"))).toBe(1024);
  });

  it("takes a quarter of the limit at 4 descriptors per slice, within 16 and 4096, and splits it between writer and readers", () => {
    expect(defaultOpenSlices(1024)).toBe(64);
    expect(defaultOpenSlices(20_000)).toBe(1250);
    expect(defaultOpenSlices(1_048_576)).toBe(4096);
    expect(defaultOpenSlices(64)).toBe(16);
    // The writer gets most (every active tenant's current slice), each reader a quarter's share, at most 64.
    expect(splitOpenSlices(64, 2)).toEqual({ writer: 48, reader: 8 });
    expect(splitOpenSlices(1250, 2)).toEqual({ writer: 1122, reader: 64 });
    expect(splitOpenSlices(24, 2)).toEqual({ writer: 18, reader: 3 });
    expect(splitOpenSlices(1, 2)).toEqual({ writer: 1, reader: 1 });
  });
});
