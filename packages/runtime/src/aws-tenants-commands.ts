import { Command, Option } from "commander";
import type { Plan, Tenant } from "@unmeltable/core";
import { readTenants, TenantsConfigError, updateTenants } from "@unmeltable/tenants-config";
import { decimalArg, describePlan, planFromFlags, type PlanFlags } from "./plan-flags";

/**
 * `unmeltable aws tenants show|set`: a deployment's tenants.json in S3, read and changed safely. A change
 * is checked against the schema before and after (packages/tenants-config), written only if the object
 * is still the version read (S3 If-Match on its ETag; on a conflict it is read again and the change
 * applied to what is there now), and the bucket keeps every version (stacks/storage.ts), so a bad edit
 * is rolled back by restoring the previous one. Functions and collectors reload the file every 30 s.
 */
export class AwsTenantsCommandError extends Error {
  override name = "AwsTenantsCommandError";
}

interface SourceFlags {
  source: string;
  awsRegion?: string;
}

interface SetFlags extends SourceFlags, PlanFlags {
  tier?: string;
  partitionSpread?: number;
  retentionDays?: number;
  tiers?: string;
}

const sourceOption = () =>
  new Option("--source <url>", "the deployment's tenants config: s3://<config bucket>/tenants.json (the `tenants` output of sst deploy)").env("UNMELTABLE_TENANTS").makeOptionMandatory();
export const regionOption = () => new Option("--aws-region <region>", "AWS region of the bucket").env("AWS_REGION");

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new AwsTenantsCommandError(`expected a whole number of at least 1, not ${value}`);
  return n;
}

/** Adds `show` and `set` to `unmeltable aws tenants`. */
export function registerAwsTenantsCommands(tenants: Command): void {

  tenants
    .command("show [name]")
    .description("Show the tenants' settings (tier, partition spread, slice, retention, plan, placements); tokens are never printed.")
    .addOption(sourceOption())
    .addOption(regionOption())
    .option("--json", "print one JSON object per tenant, without tokens")
    .action(async (name: string | undefined, opts: SourceFlags & { json?: boolean }) => {
      useRegion(opts);
      const list = (await readTenants(opts.source, undefined)).filter((t) => name === undefined || t.name === name);
      if (name !== undefined && list.length === 0) throw new AwsTenantsCommandError(`${opts.source}: no tenant ${name}`);
      for (const t of list) process.stdout.write(opts.json ? `${JSON.stringify(withoutTokens(t))}\n` : `${describeTenant(t)}\n`);
    });

  tenants
    .command("set <name>")
    .description(
      "Change a tenant's tier, partition spread, retention or plan in tenants.json: validated, written only over the version read (S3 If-Match), retried on a concurrent change; running functions and collectors apply it within a minute (they reload every 30 s).",
    )
    .addOption(sourceOption())
    .addOption(regionOption())
    .option("--tier <tier>", "index tier (its new events go to that tier's topic and domain)")
    .addOption(new Option("--tiers <list>", "the deployment's tiers, comma-separated, to check --tier against (the `tiers` output of sst deploy)").env("UNMELTABLE_TIERS"))
    .option("--partition-spread <n>", "partitions of raw and processed.<tier> the tenant's records are spread over", positiveInt)
    .option("--retention-days <n>", "days the tenant's events are kept (takes effect with its next placement, at the next slice boundary)", positiveInt)
    .option("--plan-gb-per-day <gb>", "plan: daily volume in GB (10^9 bytes of raw events a UTC day)", decimalArg)
    .option("--plan-events-per-second <n>", "plan: sustained rate (averaged over a minute)", decimalArg)
    .option("--no-plan", "remove the tenant's plan (unlimited)")
    .action(async (name: string, opts: SetFlags) => {
      useRegion(opts);
      const tiers = opts.tiers?.split(",").map((t) => t.trim()).filter(Boolean);
      if (opts.tier !== undefined && tiers && !tiers.includes(opts.tier)) throw new AwsTenantsCommandError(`--tier ${opts.tier} is not a tier of this deployment (${tiers.join(", ")}); deploy the tier first`);
      const nothing = opts.tier === undefined && opts.partitionSpread === undefined && opts.retentionDays === undefined && opts.plan !== false && opts.planGbPerDay === undefined && opts.planEventsPerSecond === undefined;
      if (nothing) throw new AwsTenantsCommandError("nothing to change: give --tier, --partition-spread, --retention-days, --plan-gb-per-day / --plan-events-per-second or --no-plan");
      let changed = false;
      try {
        await updateTenants(
          opts.source,
          (find) => {
            const entry = find(name);
            if (!entry) throw new AwsTenantsCommandError(`${opts.source}: no tenant ${name}`);
            const before = JSON.stringify(entry);
            if (opts.tier !== undefined) entry.tier = opts.tier;
            if (opts.partitionSpread !== undefined) entry.partitionSpread = opts.partitionSpread;
            if (opts.retentionDays !== undefined) entry.retentionDays = opts.retentionDays;
            const plan = planFromFlags(entry.plan as Plan | undefined, opts);
            if (plan === null) delete entry.plan;
            else if (plan !== undefined) entry.plan = plan;
            changed = JSON.stringify(entry) !== before;
          },
          5,
          `tenant ${name}`,
        );
      } catch (err) {
        // A change the schema refuses (e.g. a retention past 3650 days): nothing was written.
        if (err instanceof TenantsConfigError) throw new AwsTenantsCommandError(`not written, the change does not pass the tenants schema:\n  ${err.problems.join("\n  ")}`);
        throw err;
      }
      const now = (await readTenants(opts.source, undefined)).find((t) => t.name === name);
      process.stdout.write(`${changed ? "written" : "unchanged (already so)"}: ${now ? describeTenant(now) : name}\n`);
      if (changed) process.stdout.write("functions and collectors reload tenants.json every 30 s: the change applies within a minute\n");
    });
}

function useRegion(opts: SourceFlags): void {
  if (!opts.source.startsWith("s3://")) throw new AwsTenantsCommandError(`--source must be s3://<bucket>/<key>, not ${opts.source} (a local file: edit it and check it with \`unmeltable tenants validate\`)`);
  if (opts.awsRegion) process.env.AWS_REGION = opts.awsRegion;
}

function withoutTokens(t: Tenant): Omit<Tenant, "ingestToken" | "apiToken"> {
  const { ingestToken: _i, apiToken: _a, ...rest } = t;
  return rest;
}

function describeTenant(t: Tenant): string {
  const placements = t.placements?.length ? `, ${t.placements.length} placement${t.placements.length === 1 ? "" : "s"} (now ${t.placements[t.placements.length - 1]!.layout})` : "";
  return `tenant ${t.name}: tier ${t.tier}, spread ${t.partitionSpread}, ${t.slice} slices, ${t.retentionDays} days retention, ${describePlan(t.plan)}${placements}`;
}
