/**
 * Derived fields: a tenant's own extraction rules, Loggly's four kinds, applied by the process stage to each
 * new event's message (after the built-in parsers) and indexed like any parsed field, under `derived.`:
 *
 *   regex     a regular expression; each named group `(?<field>…)` becomes `derived.field`
 *   anchor    the text between `before` and `after` (or the end of the message) becomes `derived.<field>`
 *   keyvalue  the value after `key` and a one-character `delimiter` (`status_code=700`) becomes `derived.<field>`
 *   tag       a regular expression; when it matches, the event gets the tag `addTag`
 *
 * A rule may apply only to one log type, tag or syslog app (`scope`). Rules apply in the order they were
 * made; a field an earlier rule set is not overwritten. They apply to events processed from the moment
 * they are saved (Loggly's words: "parsed as Loggly receives a log message"); a replay of archived days
 * applies the rules as they are when it runs.
 *
 * Regular expressions are RE2's syntax, matched by re2js in time linear in the message (a tenant's
 * pattern cannot make the shared process stage backtrack for minutes): no backreferences or lookaround.
 * Pure rules here — validation, limits — so that both runtimes and the API answer alike.
 */
import { RE2JS } from "re2js";
import { nameProblem } from "../validation";
import type { Stored } from "../saved-searches/records";

export const DERIVED_RULE_TYPES = ["regex", "anchor", "keyvalue", "tag"] as const;
export type DerivedRuleType = (typeof DERIVED_RULE_TYPES)[number];

export interface DerivedRuleScope {
  /** Only events with this log type (`json`, `syslog`, `apache`, …). */
  logtype?: string;
  /** Only events with this tag. */
  tag?: string;
  /** Only events of this syslog app name (`syslog.appName`). */
  app?: string;
}

export interface DerivedRuleSpec {
  name: string;
  type: DerivedRuleType;
  /** regex and tag rules. */
  pattern?: string;
  /** anchor and keyvalue rules: the field set (`derived.<field>`). */
  field?: string;
  /** anchor rules: the text right before the value, and right after it ("" = the end of the message). */
  before?: string;
  after?: string;
  /** keyvalue rules: the key as written in the message, and the one character after it (default `=`). */
  key?: string;
  delimiter?: string;
  /** tag rules: the tag added. */
  addTag?: string;
  scope: DerivedRuleScope;
  /** A disabled rule is kept but not applied. */
  enabled: boolean;
}

export type DerivedRule = Stored<DerivedRuleSpec>;

export const DERIVED_LIMITS = Object.freeze({
  nameLength: 100,
  patternLength: 1000,
  anchorLength: 200,
  perTenant: 50,
  /**
   * The message a rule reads is cut here, and a regular expression compiles to at most `programSize`
   * instructions: RE2 matches in time linear in both, so one rule's work on one event is bounded (a few
   * hundred ms at the very worst, measured on this project's machine; typical rules take microseconds).
   */
  inputChars: 8 * 1024,
  programSize: 2000,
  /** A tenant's rules get this much time per batch (per preview): past it, the batch's other events skip them. */
  budgetMs: 200,
  /** A derived value longer than this is cut. */
  valueChars: 1024,
  /** Derived fields an event gets at most, all rules together. */
  fieldsPerEvent: 100,
});

/** The namespace derived fields live in (`derived.user`), beside `json`, `syslog`, … */
export const DERIVED_NAMESPACE = "derived";

/** A field's name: a letter or `_` first, then letters, digits and `_` (also what a named group allows). */
export const DERIVED_FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TAG = /^[\w.-]{1,64}$/;
const SCOPE_VALUE = /^[^\s"]{1,100}$/;

export interface DerivedFieldError {
  field: string;
  message: string;
}

export type DerivedRuleValidation = { ok: true; spec: DerivedRuleSpec } | { ok: false; errors: DerivedFieldError[] };

/**
 * Checks a rule (a parsed JSON body); with `base`, a partial update. Only what the rule's type uses is
 * kept. A regular expression is compiled here (patternProblem), so that a rule that is saved always
 * compiles — unless `checkPattern` is false because the caller had it checked elsewhere: compiling a
 * pattern near the limits takes over 100 ms, which a server's request thread must not spend
 * (packages/alerts/src/rule-thread.ts does it on a thread of its own).
 */
export function validateDerivedRule(input: unknown, base?: DerivedRuleSpec, options: { checkPattern?: boolean } = {}): DerivedRuleValidation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, errors: [{ field: "body", message: "the body must be a JSON object" }] };
  const o = input as Record<string, unknown>;
  const pick = <K extends keyof DerivedRuleSpec>(k: K): unknown => (k in o ? o[k] : base?.[k]);
  const errors: DerivedFieldError[] = [];

  const name = pick("name");
  const badName = nameProblem(name, DERIVED_LIMITS.nameLength);
  if (badName) errors.push({ field: "name", message: badName });

  const type = pick("type");
  if (!(DERIVED_RULE_TYPES as readonly unknown[]).includes(type)) {
    errors.push({ field: "type", message: `type is one of ${DERIVED_RULE_TYPES.join(", ")}` });
    return { ok: false, errors };
  }
  const spec: DerivedRuleSpec = { name: typeof name === "string" ? name.trim() : "", type: type as DerivedRuleType, scope: {}, enabled: true };

  const text = (k: "pattern" | "before" | "after" | "key" | "delimiter", max: number, required: boolean): string | undefined => {
    const v = pick(k);
    if (v === undefined || v === null || v === "") {
      if (required) errors.push({ field: k, message: `a ${String(type)} rule needs ${k}` });
      return undefined;
    }
    if (typeof v !== "string") errors.push({ field: k, message: `${k} is a text` });
    else if (v.length > max) errors.push({ field: k, message: `${k} has at most ${max} characters` });
    else return v;
    return undefined;
  };
  const fieldName = (k: "field" | "addTag", re: RegExp, what: string, fallback?: string): string | undefined => {
    const v = pick(k) ?? fallback;
    if (typeof v !== "string" || !re.test(v)) {
      errors.push({ field: k, message: what });
      return undefined;
    }
    return v;
  };

  if (spec.type === "regex" || spec.type === "tag") {
    const pattern = text("pattern", DERIVED_LIMITS.patternLength, true);
    if (pattern !== undefined) {
      const problem = options.checkPattern === false ? undefined : patternProblem(pattern, spec.type === "regex");
      if (problem) errors.push({ field: "pattern", message: problem });
      spec.pattern = pattern;
    }
    if (spec.type === "tag") spec.addTag = fieldName("addTag", TAG, "addTag is the tag to add: letters, digits, `_`, `.` and `-`, 1 to 64 characters");
  } else if (spec.type === "anchor") {
    spec.before = text("before", DERIVED_LIMITS.anchorLength, true);
    spec.after = text("after", DERIVED_LIMITS.anchorLength, false) ?? "";
    spec.field = fieldName("field", DERIVED_FIELD_NAME, "field is the name of the field set: a letter or _ first, then letters, digits and _, at most 64");
  } else {
    spec.key = text("key", DERIVED_LIMITS.anchorLength, true);
    const delimiter = text("delimiter", 1, false) ?? "=";
    if (/\s/.test(delimiter)) errors.push({ field: "delimiter", message: "the delimiter is one character that is not a space" });
    spec.delimiter = delimiter;
    const fallback = spec.key !== undefined && DERIVED_FIELD_NAME.test(spec.key) ? spec.key : undefined;
    spec.field = fieldName("field", DERIVED_FIELD_NAME, "field is the name of the field set (the key when it is a valid name): a letter or _ first, then letters, digits and _, at most 64", fallback);
  }

  const scopeIn = pick("scope") ?? {};
  if (typeof scopeIn !== "object" || scopeIn === null || Array.isArray(scopeIn)) errors.push({ field: "scope", message: "scope is an object: {logtype?, tag?, app?}" });
  else {
    for (const k of ["logtype", "tag", "app"] as const) {
      const v = (scopeIn as Record<string, unknown>)[k];
      if (v === undefined || v === null || v === "") continue;
      if (typeof v !== "string" || !SCOPE_VALUE.test(v)) errors.push({ field: `scope.${k}`, message: `scope.${k} is one word of at most 100 characters` });
      else spec.scope[k] = v;
    }
  }
  const enabled = pick("enabled") ?? true;
  if (typeof enabled !== "boolean") errors.push({ field: "enabled", message: "enabled is true or false" });
  else spec.enabled = enabled;

  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec };
}

/** Why a pattern cannot be used, or undefined. Regex rules need at least one named group, and only valid field names. */
export function patternProblem(pattern: string, needsGroups: boolean): string | undefined {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    return `the pattern is not a regular expression RE2 accepts: ${(err as Error).message}`;
  }
  const size = programSize(compiled);
  if (size > DERIVED_LIMITS.programSize) return `the pattern is too big to run on every event (${size} steps, at most ${DERIVED_LIMITS.programSize}): use fewer or smaller repeats such as {1,999}`;
  if (!needsGroups) return undefined;
  const names = Object.keys(compiled.namedGroups());
  if (names.length === 0) return "a regex rule names what it extracts: (?<field>…) for each field, e.g. user=(?<user>\\w+)";
  const bad = names.find((n) => !DERIVED_FIELD_NAME.test(n));
  if (bad) return `the group name "${bad}" is not a field name: a letter or _ first, then letters, digits and _, at most 64`;
  return undefined;
}

/**
 * The number of instructions RE2 compiled the pattern to: what one step over a character may cost. Read
 * from re2js's compiled program (its version is pinned in packages/core/package.json; a test checks this).
 */
export function programSize(re: RE2JS): number {
  const prog = (re as unknown as { re2Input?: { prog?: { numInst?: () => number } } }).re2Input?.prog;
  return typeof prog?.numInst === "function" ? prog.numInst() : 0;
}
