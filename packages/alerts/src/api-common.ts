import { badRequest, CodedError, errorAnswer, methodNotAllowed, type Tenant, type TenantDirectory } from "@unmeltable/core";

/** A request to the alerts or saved-searches API, as both the local server and a Lambda see it. */
export interface RecordsRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** The request body as text (JSON), when there is one. */
  body?: string;
}

export interface RecordsResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type { Tenant, TenantDirectory };

/** A coded error's answer; anything else is a bug, rethrown (the server answers 500 and logs it). */
export function answerOf(err: unknown): RecordsResponse {
  if (!(err instanceof CodedError)) throw err;
  return errorAnswer(err);
}

export function ok(body: unknown, status = 200): RecordsResponse {
  return { status, headers: { "Content-Type": "application/json" }, body };
}

export function notAllowed(method: string, allow: string): CodedError {
  return methodNotAllowed(`${method} is not allowed here; use ${allow}`, allow);
}

export function parseBody(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") throw badRequest("a JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("the body is not valid JSON");
  }
}

/** The path's parts after `/apiv2/<collection>`, decoded; a bad percent-escape is the caller's 400. */
export function pathParts(path: string): string[] {
  try {
    return path.replace(/\/+$/, "").split("/").slice(3).map(decodeURIComponent);
  } catch {
    throw badRequest("malformed URL: the path has an invalid percent-escape");
  }
}
