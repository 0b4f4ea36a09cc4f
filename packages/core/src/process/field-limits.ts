/**
 * Bounds on the fields of one event. Fields are what costs per event all the way down (flattening, field
 * tokens, the index's field lists, facets): one event with 70,000 JSON keys cost the index 0.6 s, and JSON
 * nested 10,000 levels deep could not even be serialised. So an event keeps at most FIELD_LIMITS of them;
 * the text of the event (raw) is always kept whole and stays searchable.
 *
 * The limits follow OpenSearch's mapping defaults (`index.mapping.total_fields.limit` 1,000,
 * `index.mapping.depth.limit` 20), which an event indexed on AWS meets anyway.
 *
 * What was left out is said in the event itself, under `event.unmeltable`:
 *   { fieldsOmitted: N, valuesTruncated: N, limits: ["fields" | "depth" | "name" | "value", ...] }
 * (searchable: `unmeltable.limits:depth`, `unmeltable.fieldsOmitted:>0`).
 */
import type { FieldValue } from "../event";
import { setField, type Fields } from "./fields";

export interface FieldLimits {
  /** Scalar values (an array's elements each count) per event, all namespaces together. */
  maxFields: number;
  /** Nesting below a namespace (`json.a.b` is depth 2); deeper objects and arrays are left out. */
  maxDepth: number;
  /** Longer field names are left out with their values. */
  maxNameLength: number;
  /** Longer string values are cut to this length (the whole text stays in raw). */
  maxValueLength: number;
}

export const FIELD_LIMITS: FieldLimits = {
  maxFields: 1000,
  maxDepth: 20,
  maxNameLength: 256,
  maxValueLength: 32 * 1024,
};

export type LimitKind = "fields" | "depth" | "name" | "value";

/** What capping left out or cut, to be reported in the event (and added to by the JSON reader). */
export class FieldLimitReport {
  fieldsOmitted = 0;
  valuesTruncated = 0;
  readonly limits = new Set<LimitKind>();

  omit(kind: LimitKind, n = 1): void {
    this.fieldsOmitted += n;
    this.limits.add(kind);
  }

  merge(other: FieldLimitReport): void {
    this.fieldsOmitted += other.fieldsOmitted;
    this.valuesTruncated += other.valuesTruncated;
    for (const k of other.limits) this.limits.add(k);
  }

  truncate(): void {
    this.valuesTruncated++;
    this.limits.add("value");
  }

  /** The `event.unmeltable` namespace, or null when nothing was left out. */
  fields(): Fields | null {
    if (this.limits.size === 0) return null;
    return { fieldsOmitted: this.fieldsOmitted, valuesTruncated: this.valuesTruncated, limits: [...this.limits].sort() };
  }
}

/**
 * Caps the namespaces of an event in place, in their order (syslog and http first, then the body's), so that
 * together they stay within `limits`. Cheap when nothing exceeds them: one walk that copies nothing.
 */
export function capEventFields(event: Record<string, Fields>, report: FieldLimitReport, limits: FieldLimits = FIELD_LIMITS): void {
  if (withinLimits(event, limits)) return;
  const budget = { left: limits.maxFields };
  for (const ns of Object.keys(event)) {
    event[ns] = capObject(event[ns]!, 0, budget, report, limits);
  }
}

/** True when no limit is exceeded (walks at most maxFields scalars and maxDepth levels). */
function withinLimits(event: Record<string, Fields>, limits: FieldLimits): boolean {
  let count = 0;
  const check = (v: FieldValue, depth: number): boolean => {
    if (v === null) return true;
    if (typeof v === "string") {
      count++;
      return v.length <= limits.maxValueLength && count <= limits.maxFields;
    }
    if (typeof v !== "object") return ++count <= limits.maxFields;
    if (depth >= limits.maxDepth) return false;
    if (Array.isArray(v)) {
      for (const el of v) if (!check(el, depth + 1)) return false;
      return true;
    }
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      if (key.length > limits.maxNameLength || !check(v[key]!, depth + 1)) return false;
    }
    return true;
  };
  for (const ns in event) {
    if (Object.hasOwn(event, ns) && !check(event[ns]!, 0)) return false;
  }
  return true;
}

/** Counts the scalars of a value that is left out, without walking deeper than the depth limit. */
function omitted(v: FieldValue, depth: number, limits: FieldLimits): number {
  if (v === null) return 0;
  if (typeof v !== "object") return 1;
  if (depth >= limits.maxDepth) return 1;
  let n = 0;
  if (Array.isArray(v)) for (const el of v) n += omitted(el, depth + 1, limits);
  else for (const key in v) if (Object.hasOwn(v, key)) n += omitted(v[key]!, depth + 1, limits);
  return n;
}

function capValue(v: FieldValue, depth: number, budget: { left: number }, report: FieldLimitReport, limits: FieldLimits): FieldValue | undefined {
  if (v === null) return null;
  if (typeof v !== "object") {
    if (budget.left <= 0) {
      report.omit("fields");
      return undefined;
    }
    budget.left--;
    if (typeof v === "string" && v.length > limits.maxValueLength) {
      report.truncate();
      return v.slice(0, limits.maxValueLength);
    }
    return v;
  }
  if (depth >= limits.maxDepth) {
    report.omit("depth");
    return undefined;
  }
  if (budget.left <= 0) {
    const n = omitted(v, depth, limits);
    if (n > 0) report.omit("fields", n);
    return undefined;
  }
  if (Array.isArray(v)) {
    const out: FieldValue[] = [];
    for (const el of v) {
      const c = capValue(el, depth + 1, budget, report, limits);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  return capObject(v, depth, budget, report, limits);
}

function capObject(obj: Fields, depth: number, budget: { left: number }, report: FieldLimitReport, limits: FieldLimits): Fields {
  const out: Fields = {};
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const v = obj[key]!;
    if (key.length > limits.maxNameLength) {
      report.omit("name", Math.max(1, omitted(v, depth + 1, limits)));
      continue;
    }
    const c = capValue(v, depth + 1, budget, report, limits);
    if (c !== undefined) setField(out, key, c);
  }
  return out;
}
