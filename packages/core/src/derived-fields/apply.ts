/**
 * Applying derived-field rules (./derived-rule.ts) to an event: what the process stage does after the
 * built-in parsers, and what the rule editor's preview shows. Never throws: a rule that fails on an event
 * leaves that event as it was.
 */
import { RE2JS } from "re2js";
import type { FieldValue, LogEvent } from "../event";
import { DERIVED_LIMITS, DERIVED_NAMESPACE, patternProblem, type DerivedRule, type DerivedRuleSpec } from "./derived-rule";

/** A rule ready to run: its matcher built once. */
export interface CompiledRule {
  spec: DerivedRuleSpec;
  /** The fields and the tag it yields on a message, or undefined when it does not match. */
  extract(message: string): { fields: Record<string, FieldValue>; tag?: string } | undefined;
}

export function compileRule(spec: DerivedRuleSpec): CompiledRule {
  return { spec, extract: extractor(spec) };
}

// Rules cross to the parse thread as plain data every batch; each is compiled once per version.
const compiled = new Map<string, CompiledRule>();
const MAX_COMPILED = 5_000;

/** The tenant's enabled rules, compiled (cached by id and version). */
export function compiledRules(rules: readonly DerivedRule[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const key = `${rule.tenant}/${rule.id}@${rule.updatedAt}`;
    let c = compiled.get(key);
    if (!c) {
      try {
        c = compileRule(rule);
      } catch {
        continue; // saved rules were compiled when saved; one that no longer compiles is skipped, not fatal
      }
      if (compiled.size >= MAX_COMPILED) compiled.clear();
      compiled.set(key, c);
    }
    out.push(c);
  }
  return out;
}

/**
 * The time a tenant's rules may take over a batch (DERIVED_LIMITS.budgetMs): once it is spent, the batch's
 * remaining events of that tenant skip the rules (and say so in `unmeltable.derivedRules`), so that no
 * tenant's rules can hold the process stage, shared by every tenant, for long.
 */
export class RuleBudget {
  private spent = 0;
  constructor(private readonly limitMs: number = DERIVED_LIMITS.budgetMs) {}
  get exhausted(): boolean {
    return this.spent >= this.limitMs;
  }
  add(ms: number): void {
    this.spent += ms;
  }

  /** The rule's result on a message, its time counted; undefined for no match or a rule that failed. */
  extract(rule: CompiledRule, message: string): ReturnType<CompiledRule["extract"]> {
    const start = performance.now();
    try {
      return rule.extract(message);
    } catch {
      return undefined;
    } finally {
      this.add(performance.now() - start);
    }
  }
}

/** Said in `event.unmeltable.derivedRules` of an event the rules were not applied to. */
export const RULES_SKIPPED = "not applied: this tenant's rules used their time for the batch";

/**
 * Applies the rules to the event in order: fields into `event.derived` (an earlier rule's field is kept),
 * tags appended. Returns the event (changed in place).
 */
export function applyDerivedRules(event: LogEvent, rules: readonly CompiledRule[], budget?: RuleBudget): LogEvent {
  if (rules.length === 0) return event;
  if (budget?.exhausted) {
    event.event.unmeltable = { ...event.event.unmeltable, derivedRules: RULES_SKIPPED };
    return event;
  }
  const message = messageOf(event);
  let derived = event.event[DERIVED_NAMESPACE];
  let count = derived ? Object.keys(derived).length : 0;
  for (const rule of rules) {
    if (!inScope(rule.spec, event)) continue;
    let found;
    try {
      found = budget ? budget.extract(rule, message) : rule.extract(message);
    } catch {
      continue;
    }
    if (!found) continue;
    for (const [name, value] of Object.entries(found.fields)) {
      if (count >= DERIVED_LIMITS.fieldsPerEvent) break;
      if (!derived) event.event[DERIVED_NAMESPACE] = derived = {};
      if (name in derived) continue;
      derived[name] = value;
      count++;
    }
    if (found.tag && !event.tags.includes(found.tag)) event.tags = [...event.tags, found.tag];
  }
  return event;
}

/** The text rules read: the message (the syslog MSG, or the whole line), cut at DERIVED_LIMITS.inputChars. */
export function messageOf(event: Pick<LogEvent, "logmsg">): string {
  return cutMessage(typeof event.logmsg === "string" ? event.logmsg : "");
}

/** A message as far as rules read it (DERIVED_LIMITS.inputChars). */
function cutMessage(m: string): string {
  return m.length > DERIVED_LIMITS.inputChars ? m.slice(0, DERIVED_LIMITS.inputChars) : m;
}

export function inScope(spec: DerivedRuleSpec, event: LogEvent): boolean {
  const { logtype, tag, app } = spec.scope;
  if (logtype && !event.logtypes.some((t) => t.toLowerCase() === logtype.toLowerCase())) return false;
  if (tag && !event.tags.some((t) => t.toLowerCase() === tag.toLowerCase())) return false;
  if (app) {
    const appName = event.event.syslog?.appName;
    if (typeof appName !== "string" || appName.toLowerCase() !== app.toLowerCase()) return false;
  }
  return true;
}

function extractor(spec: DerivedRuleSpec): CompiledRule["extract"] {
  switch (spec.type) {
    case "regex": {
      const re = RE2JS.compile(spec.pattern!);
      const groups = Object.keys(re.namedGroups());
      return (message) => {
        const m = re.matcher(message);
        if (!m.find()) return undefined;
        const fields: Record<string, FieldValue> = {};
        for (const g of groups) {
          const v = m.group(g);
          if (v !== null && v !== undefined) fields[g] = typed(v);
        }
        return Object.keys(fields).length > 0 ? { fields } : undefined;
      };
    }
    case "tag": {
      const re = RE2JS.compile(spec.pattern!);
      return (message) => (re.matcher(message).find() ? { fields: {}, tag: spec.addTag } : undefined);
    }
    case "anchor": {
      const before = spec.before!;
      const after = spec.after ?? "";
      return (message) => {
        const at = message.indexOf(before);
        if (at < 0) return undefined;
        const start = at + before.length;
        const end = after === "" ? message.length : message.indexOf(after, start);
        if (end < 0) return undefined;
        const value = message.slice(start, end).trim();
        return value === "" ? undefined : { fields: { [spec.field!]: typed(value) } };
      };
    }
    case "keyvalue": {
      const lead = spec.key! + (spec.delimiter ?? "=");
      return (message) => {
        let at = message.indexOf(lead);
        // The key must start a word: `status=` is not found inside `xstatus=`.
        while (at > 0 && /[\w.-]/.test(message[at - 1]!)) at = message.indexOf(lead, at + 1);
        if (at < 0) return undefined;
        const value = valueAt(message, at + lead.length);
        return value === "" ? undefined : { fields: { [spec.field!]: typed(value) } };
      };
    }
  }
}

/** A key-value's value: a quoted string (its quotes dropped), else up to the next space, comma or semicolon. */
function valueAt(message: string, start: number): string {
  const q = message[start];
  if (q === '"' || q === "'") {
    const end = message.indexOf(q, start + 1);
    return message.slice(start + 1, end < 0 ? message.length : end);
  }
  let end = start;
  while (end < message.length && !/[\s,;]/.test(message[end]!)) end++;
  return message.slice(start, end);
}

const NUMBER = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;

/** A value as stored: numbers as numbers (so `derived.ms:>500` works), long text cut. */
function typed(value: string): FieldValue {
  if (NUMBER.test(value)) return Number(value);
  return value.length > DERIVED_LIMITS.valueChars ? value.slice(0, DERIVED_LIMITS.valueChars) : value;
}

/** What a rule yields on one message of a preview: its fields (null: no match), its tag, or not tried. */
export interface PreviewOutcome {
  fields: Record<string, FieldValue> | null;
  tag?: string;
  /** Not tried: the preview's time (DERIVED_LIMITS.budgetMs) was spent on the messages before. */
  skipped?: boolean;
}

/** The rule run on each message in scope, within one batch's time budget (the rule editor's preview). */
export function previewRule(spec: DerivedRuleSpec, messages: readonly { text: string; inScope: boolean }[], budget: RuleBudget = new RuleBudget()): PreviewOutcome[] {
  const rule = compileRule(spec);
  return messages.map((m) => {
    if (!m.inScope) return { fields: null };
    if (budget.exhausted) return { fields: null, skipped: true };
    const found = budget.extract(rule, cutMessage(m.text));
    return found ? { fields: Object.keys(found.fields).length > 0 ? found.fields : null, ...(found.tag ? { tag: found.tag } : {}) } : { fields: null };
  });
}

/**
 * The CPU work of the rules API — checking a pattern, running a preview — where it may run: inline (a
 * Lambda answers one request at a time), or on a thread of its own (the server on one machine, whose
 * main thread accepts syslog: packages/alerts/src/rule-thread.ts).
 */
export interface RuleWork {
  /** Why the pattern cannot be used (patternProblem), or undefined. */
  check(pattern: string, needsGroups: boolean): Promise<string | undefined>;
  preview(spec: DerivedRuleSpec, messages: { text: string; inScope: boolean }[]): Promise<PreviewOutcome[]>;
}

export const inlineRuleWork: RuleWork = {
  check: (pattern, needsGroups) => Promise.resolve(patternProblem(pattern, needsGroups)),
  preview: (spec, messages) => Promise.resolve(previewRule(spec, messages)),
};
