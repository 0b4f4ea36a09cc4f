/**
 * Small helpers for building the per-log-type field objects of an event (`event.json`, `event.kv`, ...).
 */
import type { FieldValue } from "../event";

/** One log type's fields, as stored under `event.<logtype>`. */
export type Fields = { [key: string]: FieldValue };

/**
 * Sets `obj[key] = value`. Keys come from the log text, so `__proto__` must become an own property instead of
 * replacing the object's prototype (JSON.parse already behaves this way; plain assignment does not).
 */
export function setField(obj: Fields, key: string, value: FieldValue): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Adds a scalar under `key`; when the key repeats, the values become an array in order of appearance. */
export function addField(obj: Fields, key: string, value: string | number): void {
  if (!Object.hasOwn(obj, key)) {
    setField(obj, key, value);
    return;
  }
  const prev = obj[key];
  if (Array.isArray(prev)) prev.push(value);
  else setField(obj, key, [prev as string | number, value]);
}

/** Largest instant a JS Date can hold (±8.64e15 ms); beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** ISO-8601 text of an instant, or undefined when the instant is not representable. */
export function isoString(ms: number): string | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return undefined;
  return new Date(ms).toISOString();
}
