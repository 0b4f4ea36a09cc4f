/**
 * `event.gc`: JVM garbage-collection log lines, in the two shapes seen in the wild.
 *
 * JDK 9+ unified logging (`-Xlog:gc`), decorations in brackets, then the message:
 *   [2024-03-15T10:00:00.123+0000][info][gc] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 24M->4M(256M) 3.456ms
 *   [12.345s][info][gc] GC(3) Pause Full (System.gc()) 20M->3M(64M) 15.2ms
 * JDK 8 and older (`-XX:+PrintGC[Details|DateStamps|TimeStamps]`), Parallel / ParNew / CMS / Serial / G1:
 *   2013-10-30T12:34:56.789+0000: 12.345: [GC (Allocation Failure) [PSYoungGen: 1024K->512K(2048K)] 4096K->3584K(8192K), 0.0012345 secs] [Times: ...]
 *   [GC [ParNew: 19136K->2112K(19136K), 0.0105700 secs] 19136K->4392K(63360K), 0.0106690 secs]
 *   [Full GC (Ergonomics) [PSYoungGen: ...] [ParOldGen: ...] 3584K->2500K(8192K), [Metaspace: ...], 0.0234567 secs]
 *   1.234: [GC pause (G1 Evacuation Pause) (young) 24M->4M(256M), 0.0034 secs]
 *
 * Fields: type ("young" | "mixed" | "full" | "remark" | "cleanup" | "initial-mark" | "concurrent" | ...), cause?,
 * heapBeforeKB?, heapAfterKB?, heapTotalKB? (whole heap, not one generation), pauseMs?, gcId? (unified GC(n)),
 * collector? (the first generation the line names: PSYoungGen, ParNew, DefNew, CMS, ...; "G1" for G1 lines).
 * Sizes are converted to KB and times to ms (decimal-exact: "0.0106690 secs" → 10.669). A unified line with a
 * `gc` tag but no pause (`Using G1`, `GC(7) Concurrent Cycle`) is still a gc event with the fields it has; one
 * that yields no field at all (`[gc,init] Version: 17`) is not.
 *
 * One pass over at most GC_SCAN_LIMIT characters, index arithmetic only.
 */
import type { Fields } from "./fields";
import { parseIsoAt, scanned } from "./timestamps";
import { COLON, DASH, DOT, LBRACKET, LPAREN, RBRACKET, RPAREN, SP, isDigit, isLetter } from "../chars";

const GC_SCAN_LIMIT = 2048;
/** G1 -XX:+PrintGCDetails puts the heap summary (`Heap: 24.0M(256.0M)->4096.0K(256.0M)]`) lines below the pause. */
const G1_SUMMARY_LIMIT = 16_384;

export interface GcLog {
  fields: Fields;
  /** The line's own date stamp (epoch ms), NaN when it has only an uptime or nothing. */
  timestamp: number;
}

// --- numbers -----------------------------------------------------------------------------------------------------

/** End of the decimal number (`12`, `12.345`) starting at `i`, or `i` when there is none. */
function numberEnd(s: string, i: number): number {
  let p = i;
  while (isDigit(s.charCodeAt(p))) p++;
  if (p > i && s.charCodeAt(p) === DOT && isDigit(s.charCodeAt(p + 1))) {
    p++;
    while (isDigit(s.charCodeAt(p))) p++;
  }
  return p;
}

/** The decimal text `num` × 10^shift, computed by moving the point so that "0.0106690" secs is exactly 10.669 ms. */
function shiftDecimal(num: string, shift: number): number {
  if (shift <= 0) return Number(num) / 10 ** -shift;
  const dot = num.indexOf(".");
  const int = dot < 0 ? num : num.slice(0, dot);
  const frac = (dot < 0 ? "" : num.slice(dot + 1)).padEnd(shift, "0");
  return Number(`${int}${frac.slice(0, shift)}.${frac.slice(shift) || "0"}`);
}

/** A size read by readSizeKB: KB, and the index after its unit. */
interface Size {
  kb: number;
  end: number;
}

/** `24M`, `4096.0K`, `512B` at `i` → KB (rounded); null when there is no size there. */
function readSizeKB(s: string, i: number): Size | null {
  const e = numberEnd(s, i);
  if (e === i) return null;
  const unit = s.charCodeAt(e);
  let factor: number;
  if (unit === 0x4b) factor = 1; // K
  else if (unit === 0x4d) factor = 1024; // M
  else if (unit === 0x47) factor = 1024 * 1024; // G
  else if (unit === 0x42) factor = 1 / 1024; // B
  else return null;
  return { kb: Math.round(Number(s.slice(i, e)) * factor), end: e + 1 };
}

/** A heap transition: sizes in KB, and the index after it. */
interface Heap {
  before: number;
  after: number;
  total: number;
  end: number;
}

/** `before->after(total)` at `i` (sizes with units), or null. */
function readTransition(s: string, i: number): Heap | null {
  const before = readSizeKB(s, i);
  if (before === null || s.charCodeAt(before.end) !== DASH || s.charCodeAt(before.end + 1) !== 0x3e) return null;
  const after = readSizeKB(s, before.end + 2);
  if (after === null || s.charCodeAt(after.end) !== LPAREN) return null;
  const total = readSizeKB(s, after.end + 1);
  if (total === null || s.charCodeAt(total.end) !== RPAREN) return null;
  return { before: before.kb, after: after.kb, total: total.kb, end: total.end + 1 };
}

/** G1 detail summary `before(capBefore)->after(capAfter)` (total = capacity after), or null. */
function readG1Summary(s: string, i: number): Heap | null {
  const before = readSizeKB(s, i);
  if (before === null || s.charCodeAt(before.end) !== LPAREN) return null;
  const close = s.indexOf(")->", before.end);
  if (close < 0 || close - before.end > 24) return null;
  const after = readSizeKB(s, close + 3);
  if (after === null || s.charCodeAt(after.end) !== LPAREN) return null;
  const total = readSizeKB(s, after.end + 1);
  if (total === null) return null;
  return { before: before.kb, after: after.kb, total: total.kb, end: total.end };
}

function setHeap(fields: Fields, heap: Heap): void {
  fields.heapBeforeKB = heap.before;
  fields.heapAfterKB = heap.after;
  fields.heapTotalKB = heap.total;
}

/** Index of the `)` matching the `(` at `i` (nested parens allowed: `(System.gc())`), or -1. */
function closeParen(s: string, i: number, end: number): number {
  let depth = 0;
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === LPAREN) depth++;
    else if (c === RPAREN && --depth === 0) return p;
    else if (c === LBRACKET || c === RBRACKET) return -1;
  }
  return -1;
}

// --- JDK 9+ unified logging --------------------------------------------------------------------------------------

/** G1's young-pause kinds: `Pause Young (Normal)`, `(Mixed)`, ...; a paren group that is not one is the cause. */
const G1_KINDS = new Set(["Normal", "Mixed", "Prepare Mixed", "Concurrent Start", "Concurrent End", "Concurrent Mark"]);

function parseUnified(s: string, end: number, timeZone: string | undefined): GcLog | null {
  let i = 0;
  let timestamp = NaN;
  let gcTag = false;
  while (i < end && s.charCodeAt(i) === LBRACKET) {
    const close = s.indexOf("]", i + 1);
    if (close < 0 || close - i > 96 || close >= end) return null;
    const c = s.charCodeAt(i + 1);
    if (isDigit(c) && s.charCodeAt(i + 5) === DASH) {
      const t = parseIsoAt(s, i + 1, timeZone);
      if (!Number.isNaN(t) && scanned.end <= close) timestamp = t;
    } else if (c === 0x67 && s.charCodeAt(i + 2) === 0x63) {
      // `gc`, `gc,start`, `gc,heap,exit ` (levels and tags are space-padded)
      const n = s.charCodeAt(i + 3);
      if (n === RBRACKET || n === 0x2c || n === SP) gcTag = true;
    }
    for (let k = i + 1; k < close; k++) if (s.charCodeAt(k) === LBRACKET) return null;
    i = close + 1;
  }
  if (!gcTag) return null;
  while (s.charCodeAt(i) === SP) i++;
  const log = parseUnifiedMessage(s, i, end);
  // `[gc,init] Version: 17.0.2` and the like are GC subsystem chatter, not GC events.
  return Object.keys(log).length === 0 ? null : { fields: log, timestamp };
}

/** The message part of a unified `gc` line, starting at `i`. */
function parseUnifiedMessage(s: string, i: number, end: number): Fields {
  const fields: Fields = {};
  if (s.startsWith("GC(", i)) {
    const e = numberEnd(s, i + 3);
    if (e > i + 3 && s.charCodeAt(e) === RPAREN) {
      fields.gcId = Number(s.slice(i + 3, e));
      i = e + 1;
      while (s.charCodeAt(i) === SP) i++;
    }
  }
  if (s.startsWith("Using ", i)) {
    const lf = s.indexOf("\n", i);
    fields.collector = s.slice(i + 6, lf < 0 || lf > end ? end : lf).trim();
    return fields;
  }
  if (s.startsWith("Concurrent ", i)) {
    fields.type = "concurrent";
    return fields;
  }
  if (!s.startsWith("Pause ", i)) return fields;
  i += 6;
  let w = i;
  while (isLetter(s.charCodeAt(w))) w++;
  let kind = s.slice(i, w);
  if (kind === "Initial" && s.startsWith(" Mark", w)) {
    kind = "Initial Mark";
    w += 5;
  }
  i = w;
  let mixed = false;
  let g1 = false;
  for (;;) {
    while (s.charCodeAt(i) === SP) i++;
    if (s.charCodeAt(i) !== LPAREN) break;
    const close = closeParen(s, i, end);
    if (close < 0) break;
    const group = s.slice(i + 1, close);
    if (G1_KINDS.has(group)) {
      g1 = true;
      if (group === "Mixed") mixed = true;
    } else {
      if (fields.cause === undefined) fields.cause = group;
      if (group.startsWith("G1 ")) g1 = true;
    }
    i = close + 1;
  }
  fields.type =
    kind === "Young" ? (mixed ? "mixed" : "young") : kind === "Initial Mark" ? "initial-mark" : kind.toLowerCase();
  if (g1) fields.collector = "G1";
  const heap = readTransition(s, i);
  if (heap !== null) {
    setHeap(fields, heap);
    i = heap.end;
  }
  while (s.charCodeAt(i) === SP) i++;
  const e = numberEnd(s, i);
  if (e > i) {
    const num = s.slice(i, e);
    if (s.startsWith("ms", e)) fields.pauseMs = Number(num);
    else if (s.startsWith("us", e)) fields.pauseMs = shiftDecimal(num, -3);
    else if (s.charCodeAt(e) === 0x73 && !isLetter(s.charCodeAt(e + 1))) fields.pauseMs = shiftDecimal(num, 3);
  }
  return fields;
}

// --- JDK 8 and older ---------------------------------------------------------------------------------------------

/** Bracketed names inside a JDK 8 line that are not a collector/generation. */
const NOT_COLLECTORS = new Set([
  "Times",
  "Metaspace",
  "PSPermGen",
  "CMS Perm",
  "Perm",
  "YG occupancy",
  "Rescan",
  "class unloading",
  "scrub symbol table",
  "scrub string table",
]);
/** Paren groups that say which kind of pause it was rather than why. */
const KIND_GROUPS = new Set(["young", "mixed", "initial-mark", "to-space exhausted", "to-space overflow"]);

/** Collector named by the inner group starting at `i` (just after `[`), or undefined. */
function innerCollector(s: string, i: number, end: number): string | undefined {
  let p = i;
  while (p < end && p - i < 40) {
    const c = s.charCodeAt(p);
    if (c === COLON || c === RBRACKET || c === LPAREN || c === LBRACKET) break;
    p++;
  }
  if (s.charCodeAt(p) !== COLON || p === i) return undefined;
  const name = s.slice(i, p);
  if (NOT_COLLECTORS.has(name)) return undefined;
  if (name.endsWith("CMS-initial-mark") || name.endsWith("CMS-remark") || name === "CMS") return "CMS";
  if (!isLetter(name.charCodeAt(0)) || name.indexOf(" ") >= 0) return undefined;
  return name;
}

function parseJdk8(s: string, end: number, timeZone: string | undefined): GcLog | null {
  let i = 0;
  let timestamp = NaN;
  if (isDigit(s.charCodeAt(0))) {
    if (s.charCodeAt(4) === DASH) {
      // -XX:+PrintGCDateStamps: `2013-10-30T12:34:56.789+0000: `
      timestamp = parseIsoAt(s, 0, timeZone);
      if (Number.isNaN(timestamp) || s.charCodeAt(scanned.end) !== COLON) return null;
      i = scanned.end + 1;
      while (s.charCodeAt(i) === SP) i++;
    }
    // -XX:+PrintGCTimeStamps: `12.345: `
    const e = numberEnd(s, i);
    if (e > i) {
      if (s.charCodeAt(e) !== COLON) return null;
      i = e + 1;
      while (s.charCodeAt(i) === SP) i++;
    }
  }
  if (s.charCodeAt(i) !== LBRACKET) return null;
  i++;
  let full = false;
  if (s.startsWith("Full GC", i)) {
    full = true;
    i += 7;
  } else if (s.startsWith("GC", i)) {
    i += 2;
  } else {
    return null;
  }
  const next = s.charCodeAt(i);
  if (next !== SP && next !== LPAREN && next !== DASH && next !== LBRACKET && next !== RBRACKET) return null;
  while (s.charCodeAt(i) === DASH) i++; // `GC--`: promotion failed
  while (s.charCodeAt(i) === SP) i++;
  let word = "";
  if (isLetter(s.charCodeAt(i))) {
    const w = i;
    while (isLetter(s.charCodeAt(i)) || s.charCodeAt(i) === DASH) i++;
    word = s.slice(w, i).toLowerCase(); // `pause` (G1), `remark`, `cleanup`, `concurrent-mark-start` ...
  }

  const fields: Fields = {};
  const groups: string[] = [];
  let collector: string | undefined;
  let haveHeap = false;
  let pauseSecs = "";
  let depth = 1;
  while (i < end && depth > 0) {
    const c = s.charCodeAt(i);
    if (c === LBRACKET) {
      if (depth === 1 && collector === undefined) collector = innerCollector(s, i + 1, end);
      depth++;
      i++;
    } else if (c === RBRACKET) {
      depth--;
      i++;
    } else if (depth !== 1) {
      i++;
    } else if (c === LPAREN) {
      const close = closeParen(s, i, end);
      if (close < 0) {
        i++;
        continue;
      }
      if (!haveHeap) groups.push(s.slice(i + 1, close));
      i = close + 1;
    } else if (isDigit(c) && !isDigit(s.charCodeAt(i - 1)) && s.charCodeAt(i - 1) !== DOT) {
      const heap = haveHeap ? null : readTransition(s, i);
      if (heap !== null) {
        haveHeap = true;
        setHeap(fields, heap);
        i = heap.end;
        continue;
      }
      const e = numberEnd(s, i);
      if (s.startsWith(" secs", e)) pauseSecs = s.slice(i, e);
      i = Math.max(e, i + 1);
    } else {
      i++;
    }
  }

  let cause: string | undefined;
  let type = "young";
  for (const g of groups) {
    if (g === "mixed") type = "mixed";
    else if (!KIND_GROUPS.has(g) && cause === undefined) cause = g;
  }
  if (full) type = "full";
  else if (word === "remark" || cause === "CMS Final Remark") type = "remark";
  else if (word === "cleanup") type = "cleanup";
  else if (cause === "CMS Initial Mark") type = "initial-mark";
  else if (word.startsWith("concurrent")) type = "concurrent";
  fields.type = type;
  if (cause !== undefined) fields.cause = cause;
  if (!haveHeap && word === "pause") {
    const at = s.indexOf(" Heap: ");
    const heap = at > 0 ? readG1Summary(s, at + 7) : null;
    if (heap !== null) setHeap(fields, heap);
  }
  if (pauseSecs !== "") fields.pauseMs = shiftDecimal(pauseSecs, 3);
  if (word === "pause" || cause?.startsWith("G1 ")) collector = "G1";
  if (collector !== undefined) fields.collector = collector;
  return { fields, timestamp };
}

const FIELD_ORDER = ["type", "cause", "collector", "gcId", "heapBeforeKB", "heapAfterKB", "heapTotalKB", "pauseMs"];

/** The same key order for every gc event, whichever order the line yielded them in. */
function ordered(log: GcLog | null): GcLog | null {
  if (log === null) return null;
  const fields: Fields = {};
  for (const key of FIELD_ORDER) if (log.fields[key] !== undefined) fields[key] = log.fields[key]!;
  return { fields, timestamp: log.timestamp };
}

/** Parses a GC log line (already trimmed at the start), or returns null when it is not one. */
export function parseGcLog(text: string, timeZone: string | undefined): GcLog | null {
  const c0 = text.charCodeAt(0);
  if (c0 !== LBRACKET && !isDigit(c0)) return null;
  // Bound every indexOf below by the text it may search.
  const s = text.length > G1_SUMMARY_LIMIT ? text.slice(0, G1_SUMMARY_LIMIT) : text;
  const end = Math.min(s.length, GC_SCAN_LIMIT);
  if (c0 === LBRACKET && !s.startsWith("[GC", 0) && !s.startsWith("[Full GC", 0)) {
    return ordered(parseUnified(s, end, timeZone));
  }
  if (s.lastIndexOf("GC", 128) < 0) return null;
  return ordered(parseJdk8(s, end, timeZone));
}
