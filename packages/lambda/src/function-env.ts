import { z } from "zod";
import { describeIssue } from "@unmeltable/core";
// The options checks alone: the package's main entry would pull the Kafka client into every function.
import { brokerProblem, mskClusterArnProblem } from "@unmeltable/queue-kafka/options";

/**
 * Each function's environment (set by the stacks: stacks/functions.ts, the contract, plus each stack's
 * own), as a schema checked once at cold start: a variable that is missing or malformed stops the
 * function before its first event with an error naming it — `UNMELTABLE_ARCHIVE_PART_BYTES: expected a
 * whole number from 5242880 to 1073741824, got "8MB"` — instead of a `Number("8MB")` that is NaN at the
 * first upload. A variable left unset takes the default written here.
 *
 * `functionEnv("archive-worker")` in functions/archive-worker.ts; the builders of environment.ts (Kafka,
 * the tenants, the index) read their variables through the same schemas.
 */

export class EnvironmentError extends Error {
  override name = "EnvironmentError";
  constructor(readonly problems: string[]) {
    super(`the function's environment: ${problems.join("; ")}`);
  }
}

/** Unset and "" are the same to Lambda's console and to the stacks: both take the default. */
function unsetIfEmpty(v: unknown): unknown {
  return v === "" ? undefined : v;
}

/** A whole number given as text (what Number() reads: "8388608", "8e6"), `dflt` when unset. */
function wholeNumber(dflt: number, min: number, max: number) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return dflt;
        const n = Number(text.trim());
        if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
        ctx.addIssue({ code: "custom", message: `expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }),
  );
}

/** A JSON object of tier → T, e.g. UNMELTABLE_OPENSEARCH_ENDPOINTS={"default":"https://..."}. */
function jsonByTier<T extends z.ZodType>(value: T, example: string) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: `expected a JSON object of tier → value, e.g. ${example}` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, "a tier name is lowercase letters, digits and hyphens"), value));
}

const optionalText = z.preprocess(unsetIfEmpty, z.string().optional());
const s3Url = z.string().regex(/^s3:\/\/[^/]+\/?.*$/, "expected s3://<bucket>/<prefix>/");
const httpUrl = z.string().regex(/^https?:\/\/\S+$/, "expected an http(s):// URL");

/** Where Kafka is and how to reach it (environment.ts, kafka()). */
const KAFKA = {
  UNMELTABLE_KAFKA_BROKERS: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        for (const b of (text ?? "").split(",").filter(Boolean)) {
          const problem = brokerProblem(b);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }
      }),
  ),
  UNMELTABLE_MSK_CLUSTER_ARN: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .superRefine((arn, ctx) => {
        const problem = arn === undefined ? undefined : mskClusterArnProblem(arn);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
  ),
  UNMELTABLE_KAFKA_SASL: z.preprocess(unsetIfEmpty, z.enum(["aws-msk-iam"]).optional()),
  /** "1": TLS without SASL (IAM always uses TLS). */
  UNMELTABLE_KAFKA_TLS: z.preprocess(unsetIfEmpty, z.enum(["0", "1"]).optional()),
  /** Within the function's timeout: a produce that cannot finish fails the invocation, and Lambda retries. */
  UNMELTABLE_PRODUCE_TIMEOUT_MS: wholeNumber(30_000, 1, 900_000),
  AWS_REGION: optionalText,
  AWS_LAMBDA_FUNCTION_NAME: optionalText,
};

function checkKafka(env: { UNMELTABLE_KAFKA_BROKERS?: string; UNMELTABLE_MSK_CLUSTER_ARN?: string; UNMELTABLE_KAFKA_SASL?: string; AWS_REGION?: string }, ctx: z.RefinementCtx): void {
  if (!env.UNMELTABLE_KAFKA_BROKERS && !env.UNMELTABLE_MSK_CLUSTER_ARN) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_KAFKA_BROKERS"], message: "set UNMELTABLE_KAFKA_BROKERS (HOST:PORT,...) or UNMELTABLE_MSK_CLUSTER_ARN" });
  if (env.UNMELTABLE_KAFKA_SASL === "aws-msk-iam" && !env.AWS_REGION) ctx.addIssue({ code: "custom", path: ["AWS_REGION"], message: "MSK IAM (UNMELTABLE_KAFKA_SASL=aws-msk-iam) needs the region" });
}

/** The tenants config (tenantDirectory()) and the deployment's tiers it is checked against. */
const TENANTS = {
  UNMELTABLE_TENANTS: z.preprocess(unsetIfEmpty, z.string({ error: (iss) => (iss.input === undefined ? "required: s3://bucket/tenants.json or a file path" : undefined) })),
  UNMELTABLE_TIERS: optionalText,
};

/** The index (indexPort()): OpenSearch, one domain per tier, or the embedded index (tests). */
const INDEX = {
  UNMELTABLE_INDEX: z.preprocess(unsetIfEmpty, z.enum(["opensearch", "embedded"]).default("opensearch")),
  UNMELTABLE_INDEX_DIR: optionalText,
  UNMELTABLE_OPENSEARCH_ENDPOINTS: z.preprocess(unsetIfEmpty, jsonByTier(httpUrl, '{"default":"https://search-..."}').optional()),
  UNMELTABLE_OPENSEARCH_INDEX_SETTINGS: z.preprocess(
    unsetIfEmpty,
    jsonByTier(
      // index-opensearch's TieredOptions["tierSettings"]: what a tier's templates may set over the shared ones.
      z
        .object({
          replicas: z.number().int().min(0).max(100).optional(),
          shards: z.number().int().min(1).max(1024).optional(),
          poolShards: z.number().int().min(1).max(1024).optional(),
          analysis: z.enum(["asciifolding", "icu"]).optional(),
          refreshInterval: z.string().regex(/^(-1|\d+(ms|s|m|h))$/, 'expected an OpenSearch interval, e.g. "1s", "30s" or "-1"').optional(),
        })
        .strict(),
      '{"default":{"replicas":1,"analysis":"icu"}}',
    ).optional(),
  ),
  /** The index function's tier. */
  UNMELTABLE_TIER: optionalText,
};

function checkIndex(env: { UNMELTABLE_INDEX: string; UNMELTABLE_INDEX_DIR?: string; UNMELTABLE_OPENSEARCH_ENDPOINTS?: unknown; UNMELTABLE_TENANTS?: string }, ctx: z.RefinementCtx): void {
  if (env.UNMELTABLE_INDEX === "embedded" && !env.UNMELTABLE_INDEX_DIR) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_INDEX_DIR"], message: "required with UNMELTABLE_INDEX=embedded" });
  if (env.UNMELTABLE_INDEX === "opensearch" && env.UNMELTABLE_OPENSEARCH_ENDPOINTS === undefined)
    ctx.addIssue({ code: "custom", path: ["UNMELTABLE_OPENSEARCH_ENDPOINTS"], message: 'required with UNMELTABLE_INDEX=opensearch: a JSON object of tier → endpoint, e.g. {"default":"https://search-..."}' });
}

/** How the MSK handlers answer a failed batch (msk-driver.ts). */
const STAGE = {
  UNMELTABLE_ERROR_HANDLING: z.preprocess(unsetIfEmpty, z.enum(["provisioned", "on-demand"]).default("on-demand")),
};

/** Where the archive is (functions/archive.ts, archive-worker.ts, the lifecycle's archive check). */
const ARCHIVE_STORE = {
  UNMELTABLE_ARCHIVE_BUCKET: z.preprocess(unsetIfEmpty, z.string({ error: (iss) => (iss.input === undefined ? "required: the archive's S3 bucket" : undefined) })),
  UNMELTABLE_ARCHIVE_PREFIX: z.preprocess(unsetIfEmpty, z.string().default("")),
  /** An S3-compatible endpoint instead of AWS's (path-style addressing). */
  UNMELTABLE_S3_ENDPOINT: z.preprocess(unsetIfEmpty, httpUrl.optional()),
};

const ALERTS = {
  /** Where alerts are kept: s3://bucket/alerts/. */
  UNMELTABLE_ALERTS: z.preprocess(unsetIfEmpty, s3Url.optional()),
  UNMELTABLE_S3_ENDPOINT: ARCHIVE_STORE.UNMELTABLE_S3_ENDPOINT,
  /** `ses`: alert emails through Amazon SES, from UNMELTABLE_MAIL_FROM (a verified identity). */
  UNMELTABLE_MAIL: z.preprocess(unsetIfEmpty, z.enum(["ses"]).optional()),
  UNMELTABLE_MAIL_FROM: optionalText,
  /** PagerDuty's Events API v2 endpoint (default the US service region's). */
  UNMELTABLE_PAGERDUTY_URL: z.preprocess(unsetIfEmpty, httpUrl.optional()),
};

/** Where the tenants' users are kept (s3://bucket/accounts/): the search function's alone. */
const ACCOUNTS = {
  UNMELTABLE_ACCOUNTS: z.preprocess(unsetIfEmpty, s3Url.optional()),
  /**
   * `true`: admins manage the tenants' ingest tokens from the UI and `/apiv2/ingesttokens`, written into
   * UNMELTABLE_TENANTS (the stack gives the search function that write and this variable together).
   */
  UNMELTABLE_MANAGE_INGEST_TOKENS: z.preprocess(unsetIfEmpty, z.enum(["true", "false"]).default("false")),
};

/**
 * Single sign-on through an OpenID Connect provider (packages/alerts sso.ts): the issuer, the client, the
 * button's name. The redirect URI is UNMELTABLE_PUBLIC_URL + /auth/sso/callback.
 */
const SSO = {
  UNMELTABLE_OIDC_ISSUER: z.preprocess(unsetIfEmpty, z.string().regex(/^(https:\/\/\S+|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/\S*)?)$/, "expected the provider's https:// issuer URL (plain http only on loopback)").optional()),
  UNMELTABLE_OIDC_CLIENT_ID: optionalText,
  UNMELTABLE_OIDC_CLIENT_SECRET: optionalText,
  UNMELTABLE_OIDC_NAME: z.preprocess(unsetIfEmpty, z.string().max(60).default("single sign-on")),
};

function checkSso(env: { UNMELTABLE_OIDC_ISSUER?: string; UNMELTABLE_OIDC_CLIENT_ID?: string; UNMELTABLE_OIDC_CLIENT_SECRET?: string; UNMELTABLE_PUBLIC_URL?: string; UNMELTABLE_ACCOUNTS?: string }, ctx: z.RefinementCtx): void {
  const set = [env.UNMELTABLE_OIDC_ISSUER, env.UNMELTABLE_OIDC_CLIENT_ID, env.UNMELTABLE_OIDC_CLIENT_SECRET].filter((v) => v !== undefined).length;
  if (set === 0) return;
  if (set < 3) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_OIDC_ISSUER"], message: "single sign-on needs UNMELTABLE_OIDC_ISSUER, UNMELTABLE_OIDC_CLIENT_ID and UNMELTABLE_OIDC_CLIENT_SECRET together" });
  if (!env.UNMELTABLE_PUBLIC_URL) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_PUBLIC_URL"], message: "required with single sign-on: the UI's address, whose /auth/sso/callback the provider sends users back to" });
  if (!env.UNMELTABLE_ACCOUNTS) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_ACCOUNTS"], message: "required with single sign-on: the users it signs in" });
}

const MiB = 1024 * 1024;

/** Each function's variables, by the function's file name in functions/. */
export const FUNCTION_ENVS = {
  // UNMELTABLE_ALERTS: where the tenants' derived-field rules are (beside the saved searches).
  process: z.object({ ...KAFKA, ...TENANTS, ...STAGE, UNMELTABLE_ALERTS: ALERTS.UNMELTABLE_ALERTS, UNMELTABLE_S3_ENDPOINT: ALERTS.UNMELTABLE_S3_ENDPOINT }).superRefine(checkKafka),
  index: z
    .object({ ...KAFKA, ...TENANTS, ...INDEX, ...STAGE })
    .partial({ UNMELTABLE_TENANTS: true })
    .superRefine((env, ctx) => {
      checkKafka(env, ctx);
      checkIndex(env, ctx);
      // OpenSearch places each tenant's events by its layout: it needs the tenants.
      if (env.UNMELTABLE_INDEX === "opensearch" && !env.UNMELTABLE_TENANTS) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_TENANTS"], message: "required with UNMELTABLE_INDEX=opensearch" });
    }),
  search: z
    .object({ ...TENANTS, ...INDEX, ...ALERTS, ...ACCOUNTS, ...SSO, UNMELTABLE_COLLECTOR_HOST: optionalText, UNMELTABLE_PUBLIC_URL: z.preprocess(unsetIfEmpty, httpUrl.optional()) })
    .superRefine((env, ctx) => {
      checkIndex(env, ctx);
      checkSso(env, ctx);
    }),
  alerts: z
    .object({ ...TENANTS, ...INDEX, ...ALERTS, UNMELTABLE_PUBLIC_URL: z.preprocess(unsetIfEmpty, httpUrl.optional()) })
    .partial({ UNMELTABLE_TENANTS: true })
    .superRefine((env, ctx) => {
      checkIndex(env, ctx);
      if (!env.UNMELTABLE_ALERTS) ctx.addIssue({ code: "custom", path: ["UNMELTABLE_ALERTS"], message: "required: s3://<bucket>/<prefix>/" });
    }),
  topics: z
    .object({ ...KAFKA, UNMELTABLE_PARTITIONS: wholeNumber(12, 1, 10_000), UNMELTABLE_TIERS: z.preprocess(unsetIfEmpty, z.string().default("default")) })
    .superRefine(checkKafka),
  lifecycle: z
    .object({
      ...TENANTS,
      ...INDEX,
      ...ARCHIVE_STORE,
      // Optional here: without it the archive check is skipped.
      UNMELTABLE_ARCHIVE_BUCKET: optionalText,
      /** The size a slice should reach (embedded index): 40 GB, 30-50 GB per shard. */
      UNMELTABLE_SLICE_TARGET_BYTES: wholeNumber(40e9, 1, 1e15),
      AWS_LAMBDA_FUNCTION_NAME: optionalText,
    })
    .superRefine(checkIndex),
  archive: z
    .object({
      ...KAFKA,
      ...ARCHIVE_STORE,
      /** The worker function's name; unset: pieces run in this process (tests, a single function). */
      UNMELTABLE_ARCHIVE_WORKER: optionalText,
      UNMELTABLE_ARCHIVE_CONCURRENCY: wholeNumber(8, 1, 1000),
      UNMELTABLE_ARCHIVE_PIECE_BYTES: wholeNumber(1024 ** 3, 1, 1024 ** 4),
    })
    .superRefine(checkKafka),
  "archive-worker": z
    .object({
      ...KAFKA,
      ...ARCHIVE_STORE,
      /** A multipart upload's part: S3 takes 5 MiB at least (but the last). */
      UNMELTABLE_ARCHIVE_PART_BYTES: wholeNumber(8 * MiB, 5 * MiB, 1024 * MiB),
      UNMELTABLE_ARCHIVE_MAX_OPEN: wholeNumber(32, 1, 10_000),
    })
    .superRefine(checkKafka),
} as const;

export type FunctionName = keyof typeof FUNCTION_ENVS;
export type FunctionEnv<F extends FunctionName> = z.output<(typeof FUNCTION_ENVS)[F]>;

/** Reads `schema` from the environment, or throws EnvironmentError naming every variable that is wrong. */
export function readEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const r = schema.safeParse(env, { error: describeIssue });
  if (r.success) return r.data;
  throw new EnvironmentError(r.error.issues.map((i) => `${i.path.map(String).join(".") || "(environment)"}: ${i.message}`));
}

/** A function's environment, checked: call it at the top of the function's module (its cold start). */
export function functionEnv<F extends FunctionName>(name: F, env: NodeJS.ProcessEnv = process.env): FunctionEnv<F> {
  // TypeScript cannot follow a generic key into the table's own type: the value is that schema's output.
  return readEnv(FUNCTION_ENVS[name], env) as FunctionEnv<F>;
}

/** The parts environment.ts builds ports from, each checked where it is read. */
export const KAFKA_ENV = z.object(KAFKA).superRefine(checkKafka);
export const TENANTS_ENV = z.object(TENANTS);
export const INDEX_ENV = z.object(INDEX).superRefine(checkIndex);
export const STAGE_ENV = z.object(STAGE);
export const ARCHIVE_STORE_ENV = z.object(ARCHIVE_STORE);
export const ALERTS_ENV = z.object(ALERTS);
export const ACCOUNTS_ENV = z.object({ ...ACCOUNTS, UNMELTABLE_S3_ENDPOINT: ARCHIVE_STORE.UNMELTABLE_S3_ENDPOINT, UNMELTABLE_TENANTS: z.preprocess(unsetIfEmpty, z.string().optional()) });
export const SSO_ENV = z.object({ ...SSO, UNMELTABLE_PUBLIC_URL: z.preprocess(unsetIfEmpty, httpUrl.optional()) });
