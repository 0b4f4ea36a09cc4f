/**
 * Plain-language messages for the problems a configuration schema finds: tenants.json, a function's
 * environment, the Kafka options. The schemas are written with zod in the packages that read the
 * configuration; this module knows only the shape of an issue (no dependency: `core` imports no package),
 * so every boundary words the same problem the same way — "expected a whole number from 1 to 3650, got 0"
 * rather than zod's "Too small: expected number to be >=1".
 *
 * Pass `describeIssue` as the parse's error map (`schema.safeParse(x, { error: describeIssue })`): a message
 * written on the schema itself still wins, and an issue this does not word keeps the library's message.
 */

/** What of a schema library's issue (zod 4's) the message is made from. */
export interface ConfigIssue {
  readonly code?: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly origin?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly inclusive?: boolean;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
  /** The schema that refused the value: a number schema tells whether it wants a whole number and its bounds. */
  readonly schema?: unknown;
}

const KINDS: Record<string, string> = {
  int: "a whole number",
  number: "a number",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  function: "a function",
};

/** The message for one issue, or undefined to keep the library's own. */
export function describeIssue(issue: ConfigIssue): string | undefined {
  const got = issue.input === undefined ? "" : `, got ${showValue(issue.input)}`;
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required";
      // A whole number with bounds says them at once ("expected a whole number from 1 to 3650, got 1.5").
      if (issue.expected === "int") return `expected ${numberRange(issue)}${got}`;
      return `expected ${KINDS[issue.expected ?? ""] ?? issue.expected}${got}`;
    case "too_small":
    case "too_big":
      if (issue.origin === "number") return `expected ${numberRange(issue)}${got}`;
      if (issue.origin === "string") return `expected ${issue.code === "too_small" ? "at least" : "at most"} ${String(issue.code === "too_small" ? issue.minimum : issue.maximum)} characters${got}`;
      if (issue.origin === "array") return `expected ${issue.code === "too_small" ? "at least" : "at most"} ${String(issue.code === "too_small" ? issue.minimum : issue.maximum)} entries`;
      return undefined;
    case "invalid_value":
      return issue.values && issue.values.length > 0 ? `expected ${issue.values.length === 1 ? "" : "one of "}${issue.values.map(showValue).join(", ")}${got}` : undefined;
    case "unrecognized_keys":
      return issue.keys && issue.keys.length > 0 ? `unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` : undefined;
    default:
      return undefined;
  }
}

/** "a whole number from 1 to 3650", "a number > 0": the bounds of the number schema that refused the value. */
function numberRange(issue: ConfigIssue): string {
  const schema = (issue.schema ?? {}) as { isInt?: boolean; minValue?: number | null; maxValue?: number | null };
  const kind = schema.isInt ? "a whole number" : "a number";
  const exclusiveMin = issue.code === "too_small" && issue.inclusive === false;
  const exclusiveMax = issue.code === "too_big" && issue.inclusive === false;
  const min = issue.code === "too_small" ? Number(issue.minimum) : finite(schema.minValue);
  const max = issue.code === "too_big" ? Number(issue.maximum) : finite(schema.maxValue);
  if (min !== undefined && max !== undefined && !exclusiveMin && !exclusiveMax) return `${kind} from ${min} to ${max}`;
  const parts = [min !== undefined ? `${exclusiveMin ? ">" : "≥"} ${min}` : "", max !== undefined ? `${exclusiveMax ? "<" : "≤"} ${max}` : ""].filter(Boolean);
  return `${kind} ${parts.join(" and ")}`.trim();
}

/** A schema's bound, unless it is the type's own (zod gives every safe integer ±2^53-1). */
function finite(v: number | null | undefined): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
}

/** A value as it appears in a message: JSON, cut short. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "number" && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A field's place: `retentionDays`, `placements.1.tier`, `brokers.0`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}
