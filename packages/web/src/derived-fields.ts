import { api, FormFailed } from "./api";

/** Loggly's four kinds of derived-field rule (core's derived-fields/derived-rule.ts). */
export const RULE_TYPES = [
  { type: "regex", label: "Regular expression", hint: "Each named group (?<field>…) becomes derived.field." },
  { type: "anchor", label: "Anchors", hint: "The text between two anchors becomes one field." },
  { type: "keyvalue", label: "Key and value", hint: "The value after a key and its delimiter (status_code=700) becomes one field." },
  { type: "tag", label: "Insert a tag", hint: "Events the expression matches get a tag." },
] as const;
export type RuleType = (typeof RULE_TYPES)[number]["type"];

export interface RuleDraft {
  name: string;
  type: RuleType;
  pattern: string;
  field: string;
  before: string;
  after: string;
  key: string;
  delimiter: string;
  addTag: string;
  scope: { logtype: string; tag: string; app: string };
  enabled: boolean;
}

export interface RuleView extends Omit<RuleDraft, "pattern" | "field" | "before" | "after" | "key" | "delimiter" | "addTag" | "scope"> {
  id: string;
  pattern?: string;
  field?: string;
  before?: string;
  after?: string;
  key?: string;
  delimiter?: string;
  addTag?: string;
  scope: { logtype?: string; tag?: string; app?: string };
  createdAt: number;
  updatedAt: number;
}

export const EMPTY_RULE: RuleDraft = { name: "", type: "regex", pattern: "", field: "", before: "", after: "", key: "", delimiter: "=", addTag: "", scope: { logtype: "", tag: "", app: "" }, enabled: true };

export function draftOf(r: RuleView): RuleDraft {
  return {
    ...EMPTY_RULE,
    name: r.name,
    type: r.type,
    pattern: r.pattern ?? "",
    field: r.field ?? "",
    before: r.before ?? "",
    after: r.after ?? "",
    key: r.key ?? "",
    delimiter: r.delimiter ?? "=",
    addTag: r.addTag ?? "",
    scope: { logtype: r.scope.logtype ?? "", tag: r.scope.tag ?? "", app: r.scope.app ?? "" },
    enabled: r.enabled,
  };
}

/** What the API takes: only the draft's parts its type uses. */
export function bodyOf(d: RuleDraft): Record<string, unknown> {
  const scope = Object.fromEntries(Object.entries(d.scope).filter(([, v]) => v.trim() !== ""));
  const common = { name: d.name, type: d.type, scope, enabled: d.enabled };
  if (d.type === "regex") return { ...common, pattern: d.pattern };
  if (d.type === "tag") return { ...common, pattern: d.pattern, addTag: d.addTag };
  if (d.type === "anchor") return { ...common, before: d.before, after: d.after, field: d.field };
  return { ...common, key: d.key, delimiter: d.delimiter, ...(d.field.trim() ? { field: d.field } : {}) };
}

export type RuleErrors = Record<string, string>;

export async function listRules(signal?: AbortSignal): Promise<RuleView[]> {
  return (await api<{ derivedfields: RuleView[] }>("/apiv2/derivedfields", { signal })).derivedfields;
}

export async function saveRule(d: RuleDraft, id?: string): Promise<RuleView> {
  try {
    const path = id ? `/apiv2/derivedfields/${encodeURIComponent(id)}` : "/apiv2/derivedfields";
    return (await api<{ derivedfield: RuleView }>(path, { method: id ? "PUT" : "POST", json: bodyOf(d) })).derivedfield;
  } catch (err) {
    throw new FormFailed(err);
  }
}

export interface PreviewEvent {
  id: string;
  timestamp: number;
  logmsg: string;
  inScope: boolean;
  /** Not tried: the preview's time for the rule was spent. */
  skipped?: boolean;
  fields: Record<string, unknown> | null;
  tag?: string;
}
export interface Preview {
  searched: number;
  matched: number;
  events: PreviewEvent[];
}

/** The preview's events when no range is given: the last 24 hours. */
export const PREVIEW_RANGE = { from: "-24h", until: "now" };

/** The rule run on the tenant's newest events matching `query` in `range`. */
export async function previewRule(d: RuleDraft, query: string, range: { from: string; until: string }, signal?: AbortSignal): Promise<Preview> {
  try {
    // Without its name: a rule being typed may not have one yet, and the preview needs none (the API would refuse "").
    const rule = bodyOf(d);
    delete rule.name;
    return await api<Preview>("/apiv2/derivedfields/preview", { method: "POST", json: { rule, query: query || "*", from: range.from, until: range.until, size: 20 }, signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new FormFailed(err, "rule.");
  }
}
