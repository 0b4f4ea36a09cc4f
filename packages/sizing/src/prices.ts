/**
 * AWS list prices the cost model uses: us-east-1, on demand, USD, as gathered on 2026-12-05 (the
 * region where CloudWatch Logs' standard ingestion is $0.50/GB, the issue's yardstick; eu-west-1, where
 * production runs, is a few percent higher for most lines).
 *
 * This machine cannot open aws.amazon.com's pricing pages (their rates are rendered by script), so each
 * price says where it came from:
 * - "cited": found on a page named in `source` (third-party pages quoting AWS's list price say so);
 * - "estimate": not found in a source reachable from here; the figure is the list price as this
 *   repository recorded it before (docs/deploy.md's 2025 table) or AWS's long-standing rate. Check it
 *   with the AWS Pricing Calculator before budgeting.
 */
export interface Price {
  usd: number;
  unit: string;
  status: "cited" | "estimate";
  source: string;
}

export const PRICE_REGION = "us-east-1";
export const PRICE_DATE = "2026-12-05";
/** Hours in a month, AWS's pricing convention. */
export const HOURS_PER_MONTH = 730;

const est = (usd: number, unit: string, source: string): Price => ({ usd, unit, status: "estimate", source });
const cited = (usd: number, unit: string, source: string): Price => ({ usd, unit, status: "cited", source });
const DEPLOY_2025 = "docs/deploy.md's 2025 table (aws.amazon.com pricing pages), not re-checked";

export const PRICES = {
  msk: {
    broker: {
      "kafka.t3.small": est(0.0456, "broker-hour", DEPLOY_2025),
      "kafka.m7g.large": est(0.204, "broker-hour", DEPLOY_2025),
      "kafka.m7g.xlarge": est(0.408, "broker-hour", "2 × m7g.large (MSK prices double with each size)"),
      "kafka.m7g.2xlarge": est(0.816, "broker-hour", "2 × m7g.xlarge"),
      "kafka.m7g.4xlarge": est(1.632, "broker-hour", "2 × m7g.2xlarge"),
      "kafka.m7g.8xlarge": est(3.264, "broker-hour", "2 × m7g.4xlarge"),
    } as Record<string, Price>,
    storage: est(0.1, "GB-month", DEPLOY_2025),
  },
  lambda: {
    gbSecond: est(0.0000166667, "GB-second (x86)", "aws.amazon.com/lambda/pricing (long-standing rate; the page renders rates by script)"),
    requests: cited(0.2, "million requests", "aws.amazon.com/lambda/pricing, as transcribed by github.com/api-evangelist/aws-lambda plans/aws-lambda-plans-pricing.yml (2026-09-20)"),
    /**
     * Provisioned mode bills Event Poller Units (EPUs: docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html
     * names them). The EPU-hour rate was not found in any source reachable here; this figure and the
     * assumption of one EPU per poller are estimates. The "EPUs" are these, not OpenSearch
     * Serverless OCUs (the domains are provisioned).
     */
    epuHour: est(0.185, "EPU-hour (assumed one per poller)", "not found: estimate"),
  },
  opensearch: {
    instance: {
      "t3.medium.search": est(0.073, "instance-hour", DEPLOY_2025),
      "r7g.large.search": est(0.17, "instance-hour", DEPLOY_2025),
      "r7g.xlarge.search": est(0.34, "instance-hour", DEPLOY_2025),
      "r7g.2xlarge.search": est(0.68, "instance-hour", "2 × r7g.xlarge"),
      "r7g.4xlarge.search": est(1.36, "instance-hour", "2 × r7g.2xlarge"),
      "r7g.8xlarge.search": est(2.72, "instance-hour", "2 × r7g.4xlarge"),
      "r7g.12xlarge.search": est(4.08, "instance-hour", "3 × r7g.4xlarge"),
      "m7g.large.search": est(0.14, "instance-hour", DEPLOY_2025),
      "m7g.2xlarge.search": est(0.56, "instance-hour", "4 × m7g.large"),
    } as Record<string, Price>,
    gp3: cited(0.122, "GB-month", "OpenSearch Service EBS gp3, us-east-1, as quoted in public pricing code (search: OPENSEARCH_PRICING ebsGbMonth 0.122); docs/deploy.md had ≈ 0.12"),
  },
  ec2: {
    instance: {
      "c7i.large": est(0.08925, "instance-hour", DEPLOY_2025),
      "t3.small": est(0.0208, "instance-hour", "aws.amazon.com/ec2/pricing/on-demand (long-standing rate)"),
      "t4g.nano": est(0.0042, "instance-hour", "aws.amazon.com/ec2/pricing/on-demand (fck-nat's instance)"),
    } as Record<string, Price>,
    gp3: est(0.08, "GB-month", DEPLOY_2025),
    publicIpv4: est(0.005, "address-hour", DEPLOY_2025),
  },
  network: {
    natGatewayHour: est(0.045, "NAT gateway-hour", DEPLOY_2025),
    natGatewayGb: est(0.045, "GB processed", DEPLOY_2025),
    crossAzGb: est(0.02, "GB (0.01 out + 0.01 in)", "aws.amazon.com/ec2/pricing/on-demand, data transfer within a region"),
    interRegionGb: est(0.02, "GB out to another region", "aws.amazon.com/ec2/pricing/on-demand, data transfer between US/EU regions"),
  },
  s3: {
    standard: est(0.023, "GB-month", "aws.amazon.com/s3/pricing (long-standing rate)"),
    standardIa: est(0.0125, "GB-month", "aws.amazon.com/s3/pricing (long-standing rate)"),
    glacierFlexible: est(0.0036, "GB-month", "aws.amazon.com/s3/pricing (long-standing rate)"),
    put: est(0.005, "thousand PUT/COPY/POST/LIST", "aws.amazon.com/s3/pricing (long-standing rate)"),
    transitionIa: est(0.01, "thousand lifecycle transitions to IA", "aws.amazon.com/s3/pricing (long-standing rate)"),
    transitionGlacier: est(0.03, "thousand lifecycle transitions to Glacier Flexible", "aws.amazon.com/s3/pricing (long-standing rate)"),
  },
  cloudwatch: {
    logsIngestGb: cited(0.5, "GB ingested (standard class)", "c3x.dev/blog/cloudwatch-logs-cost-optimization (\"us-east-1, June 2026\"); hykell.com CloudWatch Logs pricing guide"),
    logsStorageGb: cited(0.03, "GB-month stored", "same pages"),
    alarm: est(0.1, "standard alarm-month", DEPLOY_2025),
    metric: est(0.3, "custom metric-month", DEPLOY_2025),
    dashboard: est(3, "dashboard-month", DEPLOY_2025),
  },
  route53: {
    healthCheck: est(0.5, "health check-month", DEPLOY_2025),
    zone: est(0.5, "hosted zone-month", DEPLOY_2025),
  },
};

/** Published per-GB prices the docs compare with (not used in the bill). */
export const COMPARISONS = {
  cloudWatchLogs: PRICES.cloudwatch.logsIngestGb,
  /**
   * Datadog Log Management: ingestion $0.10/GB plus indexing $1.70 per million events (15-day
   * retention, annual commitment) — michaelscodingspot.com/datadog-logs-pricing quoting Datadog's
   * published starting prices. Per GB it depends on events per GB: at 500-byte events, 2M events/GB.
   */
  datadog: { ingestGb: cited(0.1, "GB ingested", "michaelscodingspot.com/datadog-logs-pricing"), indexMillionEvents: cited(1.7, "million events indexed (15 days)", "same page") },
};

export function priceOf(table: Record<string, Price>, key: string): Price {
  const p = table[key];
  if (!p) throw new Error(`no price for ${key}`);
  return p;
}
