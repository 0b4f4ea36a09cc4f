import { badRequest, type ApiEvent, type LogEvent } from "@unmeltable/core";

/** The event as Loggly's API returns it (internal fields left out). */
export function logglyEvent(e: LogEvent): ApiEvent {
  return { id: e.id, timestamp: e.timestamp, tags: e.tags, logtypes: e.logtypes, raw: e.raw, logmsg: e.logmsg, unparsed: e.unparsed, event: e.event };
}

/** Search times are clamped to the span the indices hold: the epoch to 9e12 ms (year 2255), as event times are. */
export const TIME_FLOOR = 0;
export const TIME_CEILING = 9_000_000_000_000;

/** An integer parameter of the API: `dflt` when absent, a 400 below `min`, at most `max` (larger is clamped). */
export function intParam(params: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const text = params.get(name);
  if (text === null || text === "") return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw badRequest(`${name} must be an integer >= ${min}`);
  return Math.min(n, max);
}
