/**
 * `unmeltable aws estimate`: from a workload (events/s, event size, retention, tenants) to the AWS
 * deployment's sizes and its monthly bill, with every rule and multiplication printed (packages/sizing).
 * Nothing is called: the prices are the table in packages/sizing/src/prices.ts.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { layoutTable } from "@unmeltable/index-opensearch/sizing";
import {
  COMPARISONS,
  estimateCost,
  formatUsd,
  MAX_EVENTS_PER_SECOND,
  MAX_RETENTION_DAYS,
  PRICE_DATE,
  PRICE_REGION,
  simpleWorkload,
  sizeDeployment,
  type DeploymentSizing,
  type Estimate,
  type Profile,
  type SimpleWorkload,
  WORKLOAD_DEFAULTS,
} from "@unmeltable/sizing";

/** The workload's flags are sizing's SimpleWorkload, by the same names; the rest say what to size and print. */
interface EstimateFlags extends SimpleWorkload {
  regions: number;
  tiers: string[];
  profile: Profile;
  json?: boolean;
  markdown?: boolean;
}

/** A finite number; the workload's own check gives the ranges (packages/sizing checkWorkload). */
function numberArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
  return n;
}

function tiersArg(value: string): string[] {
  const tiers = value.split(",").map((t) => t.trim()).filter(Boolean);
  if (tiers.length === 0 || tiers.some((t) => !/^[a-z][a-z0-9-]*$/.test(t))) throw new InvalidArgumentError("expected tier names, comma-separated (lowercase letters, digits, hyphens)");
  if (!tiers.includes("default")) throw new InvalidArgumentError('the tiers must include "default" (every tenant without a tier is on it)');
  return [...new Set(tiers)];
}

function regionsArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new InvalidArgumentError("expected 0–10 regions with collectors");
  return n;
}

const n = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d });

/** Adds `estimate` to the `aws` command group. */
export function addEstimateCommand(aws: Command): void {
  aws
    .command("estimate")
    .description(
      "Size the AWS deployment for a workload — partitions, MSK brokers and storage, Lambda pollers and batches, OpenSearch domains, collectors — and price it at list prices, each line with its arithmetic. The average rate goes to the default tier, spread evenly over --tenants.",
    )
    .requiredOption("--events-per-second <n>", `average events/s over all tenants (0–${n(MAX_EVENTS_PER_SECOND)})`, numberArg)
    .option("--peak-events-per-second <n>", `the rate to keep up with (default: ${WORKLOAD_DEFAULTS.peakFactor} × average)`, numberArg)
    .option("--event-bytes <n>", `average raw event size in bytes (default: ${WORKLOAD_DEFAULTS.eventBytes})`, numberArg)
    .requiredOption("--retention-days <n>", `days events stay searchable in OpenSearch (1–${n(MAX_RETENTION_DAYS)})`, numberArg)
    .option("--tenants <n>", `tenants sharing the rate (default: ${WORKLOAD_DEFAULTS.tenants})`, numberArg)
    .option("--archive-days <n>", `days the S3 archive keeps raw events (0–${n(MAX_RETENTION_DAYS)}; default: ${WORKLOAD_DEFAULTS.archiveDays})`, numberArg)
    .option("--regions <n>", "regions with collectors, the home region included (0: no collectors)", regionsArg, 1)
    .option("--tiers <list>", "the deployment's tiers: each gets a domain, a topic and an index function, with or without traffic", tiersArg, ["default", "bulk"])
    .addOption(new Option("--profile <profile>", "production: zone-aware domains with replicas and cluster managers, no burstable types; small: a staging or developer stage").choices(["production", "small"]).default("production"))
    .option("--json", "print the sizes and the bill as one JSON object")
    .option("--markdown", "print markdown tables (docs/deploy.md is made with it)")
    .action((opts: EstimateFlags) => {
      const workload = simpleWorkload(opts);
      const sizing = sizeDeployment(workload, { profile: opts.profile, tiers: opts.tiers, collectorRegions: opts.regions, layout: layoutTable });
      const production = opts.profile === "production";
      const estimate = estimateCost(sizing, { nat: production ? "managed" : "ec2", monitoring: true, dns: opts.regions > 0 });
      if (opts.json) process.stdout.write(JSON.stringify({ region: PRICE_REGION, pricesOf: PRICE_DATE, sizing, estimate }, null, 2) + "\n");
      else process.stdout.write(opts.markdown ? markdown(sizing, estimate) : text(sizing, estimate));
    });
}

function headline(s: DeploymentSizing, e: Estimate): string[] {
  const w = s.workload;
  const tenants = w.groups.reduce((a, g) => a + g.tenants, 0);
  const retention = w.groups[0]!.retentionDays;
  return [
    `Workload: ${n(w.eventsPerSecond, 1)} events/s average, ${n(w.peakEventsPerSecond, 1)} peak, ${n(w.eventBytes)} B each: ${n(s.ingestGbPerDay, 1)} GB/day, ${n(e.ingestGbPerMonth)} GB/month; ${n(tenants)} tenant${tenants === 1 ? "" : "s"}; searchable ${retention} days, archived ${w.archiveDays} days; profile ${s.profile}; tiers ${s.tiers.map((t) => t.name).join(", ")}.`,
  ];
}

function verdict(e: Estimate): string[] {
  const cw = COMPARISONS.cloudWatchLogs.usd;
  if (e.usdPerGb === null) return [`Total: ${formatUsd(e.monthlyUsd)} a month; nothing ingested, so no price per GB.`];
  const target = cw / 5;
  return [
    `Total: ${formatUsd(e.monthlyUsd)} a month = ${formatUsd(e.monthlyUsd)} / ${n(e.ingestGbPerMonth)} GB = $${e.usdPerGb.toFixed(3)} per GB ingested.`,
    `CloudWatch Logs standard ingestion: $${cw.toFixed(2)}/GB (ingestion alone). The issue's target, one fifth of it: $${target.toFixed(2)}/GB — ${e.usdPerGb <= target ? "met" : `missed by ${(e.usdPerGb / target).toFixed(1)}×`}.`,
  ];
}

function text(s: DeploymentSizing, e: Estimate): string {
  const out = [...headline(s, e), "", "Sizes (rule, arithmetic, source):"];
  for (const st of s.steps) out.push(`  ${st.what}: ${st.value}`, `      = ${st.arithmetic}`, `      [${st.source}]`);
  out.push("", `Monthly cost at ${PRICE_REGION} on-demand list prices of ${PRICE_DATE} (* = estimate: packages/sizing/src/prices.ts says why):`);
  const w = Math.max(...e.lines.map((l) => `${l.service} ${l.item}`.length));
  for (const l of e.lines) {
    out.push(`  ${`${l.service} ${l.item}`.padEnd(w)}  ${formatUsd(l.monthlyUsd).padStart(9)}${l.price.status === "estimate" ? "*" : " "}  = ${l.arithmetic}`);
  }
  out.push("", ...verdict(e), "");
  return out.join("\n");
}

function markdown(s: DeploymentSizing, e: Estimate): string {
  const cell = (x: string) => x.replace(/\|/g, "\\|");
  const out = [...headline(s, e), "", "| derived | value | arithmetic |", "| --- | --- | --- |"];
  for (const st of s.steps) out.push(`| ${cell(st.what)} | ${cell(st.value)} | ${cell(st.arithmetic)} |`);
  out.push("", "| line | $/month | arithmetic |", "| --- | ---: | --- |");
  for (const l of e.lines) out.push(`| ${cell(`${l.service}: ${l.item}`)} | ${formatUsd(l.monthlyUsd)}${l.price.status === "estimate" ? "\\*" : ""} | ${cell(l.arithmetic)} |`);
  out.push(`| **total** | **${formatUsd(e.monthlyUsd)}** | ${e.usdPerGb === null ? "nothing ingested" : `**$${e.usdPerGb.toFixed(3)} per GB** ingested (${n(e.ingestGbPerMonth)} GB/month)`} |`);
  out.push("", ...verdict(e), "");
  return out.join("\n");
}
