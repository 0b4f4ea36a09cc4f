/**
 * The checks every definition a tenant saves shares (alerts, saved searches, dashboards): a name, and a
 * query in Loggly's syntax. Each says what is wrong, or nothing; the caller files it under its field.
 */
import { parseQuery, QuerySyntaxError } from "./query/parse";

/** A required name of at most `max` characters (surrounding spaces do not count). */
export function nameProblem(v: unknown, max: number): string | undefined {
  if (typeof v !== "string" || v.trim() === "") return "a name is required";
  if (v.trim().length > max) return `a name has at most ${max} characters`;
  return undefined;
}

/** A query text of at most `max` characters that parses; `position` is where a syntax error is. */
export function queryProblem(v: unknown, max: number, what = "a query"): { message: string; position?: number } | undefined {
  if (typeof v !== "string") return { message: `${what} is a text in Loggly's query language (* for every event)` };
  if (v.length > max) return { message: `${what} has at most ${max} characters` };
  try {
    parseQuery(v);
    return undefined;
  } catch (err) {
    if (!(err instanceof QuerySyntaxError)) throw err;
    return { message: err.message, position: err.position };
  }
}
