/**
 * `unmeltable aws estimate`, run as the real program (dist/unmeltable.mjs, built by the global setup):
 * the sizes and every cost line with its arithmetic, JSON that adds up, and clear refusals.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CLI, ROOT } from "../helpers/program";

const execFileP = promisify(execFile);

async function estimate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CLI, "aws", "estimate", ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("unmeltable aws estimate", () => {
  it("prints the derived sizes and each cost line with its multiplication, and the price per GB", async () => {
    const r = await estimate(["--events-per-second", "10000", "--retention-days", "30"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("10,000 events/s average, 20,000 peak, 500 B each: 432 GB/day");
    expect(r.stdout).toMatch(/MSK brokers: 3 × kafka\.m7g\.large/);
    expect(r.stdout).toMatch(/OpenSearch default: storage: 56,376 GB\n\s+= source 19,440 GB .* × \(1 \+ 1 replica\) × 1\.45/);
    expect(r.stdout).toMatch(/MSK brokers \(kafka\.m7g\.large\)\s+\$447\*\s+= 3 × 730 h × \$0\.204\/broker-hour/);
    expect(r.stdout).toMatch(/Total: \$[\d,]+ a month = \$[\d,]+ \/ 13,140 GB = \$\d+\.\d{3} per GB ingested\./);
    expect(r.stdout).toMatch(/CloudWatch Logs standard ingestion: \$0\.50\/GB.*\$0\.10\/GB — (met|missed by [\d.]+×)/);
  });

  it("--json: the lines add up to the total, and the total over the GB ingested is the price per GB", async () => {
    const r = await estimate(["--events-per-second", "100", "--peak-events-per-second", "1000", "--event-bytes", "800", "--retention-days", "7", "--tenants", "20", "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { region: string; sizing: { workload: { peakEventsPerSecond: number; eventBytes: number } }; estimate: { lines: { monthlyUsd: number }[]; monthlyUsd: number; ingestGbPerMonth: number; usdPerGb: number } };
    expect(out.region).toBe("us-east-1");
    expect(out.sizing.workload).toMatchObject({ peakEventsPerSecond: 1000, eventBytes: 800 });
    const sum = out.estimate.lines.reduce((n, l) => n + l.monthlyUsd, 0);
    expect(out.estimate.monthlyUsd).toBeCloseTo(sum, 6);
    expect(out.estimate.ingestGbPerMonth).toBeCloseTo((100 * 800 * 86_400 * 730) / 24 / 1e9, 6);
    expect(out.estimate.usdPerGb).toBeCloseTo(out.estimate.monthlyUsd / out.estimate.ingestGbPerMonth, 9);
  });

  it("more volume costs more in all, and less per GB", async () => {
    const small = JSON.parse((await estimate(["--events-per-second", "100", "--retention-days", "30", "--json"])).stdout).estimate;
    const big = JSON.parse((await estimate(["--events-per-second", "100000", "--retention-days", "30", "--json"])).stdout).estimate;
    expect(big.monthlyUsd).toBeGreaterThan(small.monthlyUsd);
    expect(big.usdPerGb).toBeLessThan(small.usdPerGb);
  });

  it.each([
    [["--events-per-second", "-5", "--retention-days", "30"], /events per second must be 0–10,000,000, got -5/],
    [["--events-per-second", "lots", "--retention-days", "30"], /--events-per-second.*expected a number/],
    [["--events-per-second", "NaN", "--retention-days", "30"], /--events-per-second.*expected a number/],
    [["--events-per-second", "20000000", "--retention-days", "30"], /events per second must be 0–10,000,000, got 20,000,000/],
    [["--events-per-second", "100", "--retention-days", "0"], /retention days must be 1–3,650, got 0/],
    [["--events-per-second", "100", "--peak-events-per-second", "50", "--retention-days", "7"], /peak events per second \(50\) must be at least the average \(100\)/],
    [["--events-per-second", "100", "--event-bytes", "0", "--retention-days", "7"], /event bytes must be 1–1,048,576, got 0/],
    [["--events-per-second", "100", "--tenants", "0", "--retention-days", "7"], /tenants must be 1–1,000,000, got 0/],
    [["--retention-days", "7"], /required option '--events-per-second <n>'/],
  ])("refuses %j with a clear message and exit code 1", async (args, message) => {
    const r = await estimate(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });
});
