/** Time ranges as the API takes them (`-1h`, `now`, ISO-8601, epoch ms) and as people read them. */

export interface Preset {
  label: string;
  /** Long form, for screen readers and the range summary. */
  title: string;
  from: string;
}

export const PRESETS: readonly Preset[] = [
  { label: "10 min", title: "Last 10 minutes", from: "-10m" },
  { label: "15 min", title: "Last 15 minutes", from: "-15m" },
  { label: "30 min", title: "Last 30 minutes", from: "-30m" },
  { label: "1 h", title: "Last hour", from: "-1h" },
  { label: "4 h", title: "Last 4 hours", from: "-4h" },
  { label: "12 h", title: "Last 12 hours", from: "-12h" },
  { label: "24 h", title: "Last 24 hours", from: "-24h" },
  { label: "7 d", title: "Last 7 days", from: "-7d" },
];

/** A relative range as typed (`-15m`, `-2h`, `3d`, `-1w`), as the API takes it (`-15m`), or undefined. */
export function relativeRange(text: string): string | undefined {
  const m = /^-?\s*(\d{1,6})\s*([smhdw])$/i.exec(text.trim());
  if (!m || Number(m[1]) === 0) return undefined;
  return `-${Number(m[1])}${m[2]!.toLowerCase()}`;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A time value → epoch ms (the API's grammar, leniently), or undefined when it cannot be read. */
export function resolveTime(text: string, now: number): number | undefined {
  const v = text.trim();
  if (v === "" || v.toLowerCase() === "now") return now;
  const rel = /^-(\d+)([smhdw])$/.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) || !v.includes("T") ? v : `${v}Z`);
  return Number.isFinite(t) ? t : undefined;
}

/** The preset a range is, if it is one. */
export function presetOf(from: string, until: string): Preset | undefined {
  return until === "now" ? PRESETS.find((p) => p.from === from) : undefined;
}

/** "Last hour", or "Mar 10, 12:00 – 12:30" for an absolute range (in the browser's time zone). */
export function describeRange(from: string, until: string, now: number): string {
  const preset = presetOf(from, until);
  if (preset) return preset.title;
  const rel = /^-(\d+)([smhdw])$/.exec(from.trim());
  if (rel && until === "now") {
    const n = Number(rel[1]);
    const unit = { s: "second", m: "minute", h: "hour", d: "day", w: "week" }[rel[2]!]!;
    return `Last ${n} ${unit}${n === 1 ? "" : "s"}`;
  }
  const f = resolveTime(from, now);
  const u = resolveTime(until, now);
  if (f === undefined || u === undefined) return `${from} – ${until}`;
  return `${formatShort(f)} – ${until === "now" ? "now" : sameDay(f, u) ? formatClock(u) : formatShort(u)}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Times are shown in the browser's time zone or in UTC, as the user chooses (kept in this browser); always
 * 24 h. Every formatter below and the custom range's inputs follow the choice.
 */
export type ZoneMode = "local" | "utc";
const ZONE_KEY = "unmeltable.timeZone";
const store = () => (globalThis as { localStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).localStorage;
let zone: ZoneMode = (() => {
  try {
    return store()?.getItem(ZONE_KEY) === "utc" ? "utc" : "local";
  } catch {
    return "local";
  }
})();

export function zoneMode(): ZoneMode {
  return zone;
}

export function setZoneMode(mode: ZoneMode): void {
  zone = mode;
  try {
    store()?.setItem(ZONE_KEY, mode);
  } catch {
    // not kept: the choice holds for this page
  }
}

/** The zone times are shown in: `UTC`, or the browser's (`Europe/Berlin`). */
export function zoneName(): string {
  if (zone === "utc") return "UTC";
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  } catch {
    return "local time";
  }
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  millis: number;
}

function parts(ms: number): Parts {
  const d = new Date(ms);
  return zone === "utc"
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), millis: d.getUTCMilliseconds() }
    : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), millis: d.getMilliseconds() };
}

/** `2024-03-10 12:00:05.123`, in the chosen zone. */
export function formatTimestamp(ms: number): string {
  const d = parts(ms);
  return `${d.year}-${pad(d.month + 1)}-${pad(d.day)} ${pad(d.hours)}:${pad(d.minutes)}:${pad(d.seconds)}.${pad(d.millis, 3)}`;
}

/** `Mar 10, 12:00`. */
export function formatShort(ms: number): string {
  const d = parts(ms);
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.month];
  return `${month} ${d.day}, ${pad(d.hours)}:${pad(d.minutes)}`;
}

/** `12:00` or `12:00:30` when the seconds matter. */
export function formatClock(ms: number, seconds = false): string {
  const d = parts(ms);
  return `${pad(d.hours)}:${pad(d.minutes)}${seconds ? `:${pad(d.seconds)}` : ""}`;
}

function sameDay(a: number, b: number): boolean {
  const x = parts(a);
  const y = parts(b);
  return x.year === y.year && x.month === y.month && x.day === y.day;
}

/**
 * A bucket's time label: clock for short ranges, date and clock for longer ones; `previous` (the label
 * before it) adds the date where a day begins, so a range across midnight says which day each side is.
 */
export function formatTick(ms: number, spanMs: number, previous?: number): string {
  if (spanMs > 36 * 3_600_000 || (previous !== undefined && !sameDay(previous, ms))) return formatShort(ms);
  return formatClock(ms, spanMs <= 10 * 60_000);
}

/** "3 min ago", "just now". */
export function formatAgo(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** Value for `<input type="datetime-local">` (in the chosen zone, minutes). */
export function toLocalInput(ms: number): string {
  const d = parts(ms);
  return `${d.year}-${pad(d.month + 1)}-${pad(d.day)}T${pad(d.hours)}:${pad(d.minutes)}`;
}

/** `<input type="datetime-local">` value (in the chosen zone) → epoch ms, or undefined. */
export function fromLocalInput(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return undefined;
  const f = [Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)] as const;
  const t = zone === "utc" ? Date.UTC(...f) : new Date(...f).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export interface Bucket {
  time: number;
  count: number;
}

/**
 * Every bucket of the range, zeros included (the API returns only buckets with events), from the one
 * holding `from` to the one holding `until`, aligned to multiples of the interval as the API aligns them.
 */
export function fillBuckets(buckets: readonly Bucket[], from: number, until: number, interval: number): Bucket[] {
  const counts = new Map(buckets.map((b) => [b.time, b.count]));
  const first = Math.floor(from / interval) * interval;
  const last = Math.floor(until / interval) * interval;
  const out: Bucket[] = [];
  if (!(interval > 0) || (last - first) / interval > 20_000) return [...buckets];
  for (let t = first; t <= last; t += interval) out.push({ time: t, count: counts.get(t) ?? 0 });
  return out;
}

/** "1 minute", "5 minutes", "1 hour". */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [604_800_000, "week"],
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}
