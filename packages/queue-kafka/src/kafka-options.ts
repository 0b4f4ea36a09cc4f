import { z } from "zod";
import { describeIssue, issuePath } from "@unmeltable/core";

/**
 * The Kafka adapters' options, checked when a queue is made (and by the CLI before it starts anything):
 * a broker without a port, an empty SASL password or a produce timeout of 0 is refused with the option's
 * name, instead of a client that retries a broker it can never reach or gives up on every write.
 */

/** `host:port`, `1.2.3.4:9092`, `[::1]:9092`: what both clients take as a bootstrap broker. */
const BROKER_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:,[\]/]+):(\d{1,5})$/;

/** Why `broker` is not HOST:PORT, or undefined when it is. */
export function brokerProblem(broker: string): string | undefined {
  const m = BROKER_PATTERN.exec(broker);
  if (!m) return `expected HOST:PORT, got ${JSON.stringify(broker)}`;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? undefined : `the port of ${JSON.stringify(broker)} is not from 1 to 65535`;
}

/** Why `arn` is not an MSK cluster's ARN (arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID), or undefined. */
export function mskClusterArnProblem(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[^/\s]+\/[^/\s]+$/.test(arn) ? undefined : `expected an MSK cluster ARN, arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/ID, got ${JSON.stringify(arn)}`;
}

export const BROKER = z.string().superRefine((b, ctx) => {
  const problem = brokerProblem(b);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const SASL = z.discriminatedUnion("mechanism", [
  z
    .object({
      mechanism: z.enum(["scram-sha-256", "scram-sha-512", "plain"]),
      username: z.string().min(1, "a SASL username is not empty"),
      password: z.string().min(1, "a SASL password is not empty"),
    })
    .strict(),
  z.object({ mechanism: z.literal("aws-msk-iam"), region: z.string().min(1, "MSK IAM needs the AWS region") }).strict(),
]);

/** Milliseconds a client waits: at least 1, at most a day (Node's timers fire at once beyond 24.8 days). */
const MS = z.number().int().min(1).max(86_400_000);

/**
 * The options of both adapters (KafkaQueueBaseOptions with the connection). Fields the adapters add
 * (compression) are each adapter's own, checked by it; anything else passes through untouched.
 */
export const KAFKA_OPTIONS = z.object({
  brokers: z.array(BROKER).min(1, "expected at least one broker, HOST:PORT"),
  clientId: z.string().min(1).max(249).optional(),
  ssl: z.boolean().optional(),
  caFile: z.string().min(1).optional(),
  sasl: SASL.optional(),
  produceTimeoutMs: MS.optional(),
  sessionTimeoutMs: MS.optional(),
  replicationFactor: z.number().int().min(1).max(32).optional(),
  createTopics: z.custom<unknown>((f) => typeof f === "function", "expected a function").optional(),
});

export class KafkaOptionsError extends Error {
  override name = "KafkaOptionsError";
  constructor(
    /** Each problem as `option: message`, the option as the options object names it (`sasl.password`, `brokers.0`). */
    readonly problems: { option: string; message: string }[],
  ) {
    super(`Kafka options: ${problems.map((p) => `${p.option}: ${p.message}`).join("; ")}`);
  }
}

/**
 * Throws KafkaOptionsError naming every option that is wrong. `brokersLater`: the brokers are looked up
 * afterwards (an MSK cluster ARN), so an empty list is not yet a problem.
 */
export function checkKafkaOptions(options: unknown, opts: { brokersLater?: boolean } = {}): void {
  const schema = opts.brokersLater ? KAFKA_OPTIONS.extend({ brokers: z.array(BROKER) }) : KAFKA_OPTIONS;
  const r = schema.safeParse(options, { error: describeIssue });
  if (!r.success) throw new KafkaOptionsError(r.error.issues.map((i) => ({ option: issuePath(i.path) || "(options)", message: i.message })));
}

/** Checks one adapter's compression choice: one of `allowed`, or none (the adapter's default). */
export function checkCompression(compression: unknown, allowed: readonly string[]): void {
  if (compression === undefined || (typeof compression === "string" && allowed.includes(compression))) return;
  throw new KafkaOptionsError([{ option: "compression", message: `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(compression)}` }]);
}
