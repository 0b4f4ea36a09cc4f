/**
 * Errors a caller can act on, each with a stable code and the HTTP status it is answered with
 * (fastify's lib/errors.js is the model: every error a code and a status). Codes never change once
 * published — clients branch on them; messages may be reworded. Every surface (the API, the alerts API,
 * the web UI's config, live tail, on one machine and on Lambda) answers a CodedError with `errorAnswer`,
 * so the same failure is the same answer everywhere.
 */
export class CodedError extends Error {
  override name = "CodedError";
  /** Extra fields of the answer's body (Loggly's shape: `{response: "error", message, ...details}`). */
  readonly details: Record<string, unknown>;
  /** Headers the answer carries (`WWW-Authenticate`, `Allow`, `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Every code an answer may carry, in one place (docs/api.md lists them for clients). */
export const ERROR_CODES = {
  /** No or unknown API token (401). */
  UNAUTHORIZED: "UNM_UNAUTHORIZED",
  /** Credentials that are valid but whose role may not do this (403). */
  FORBIDDEN: "UNM_FORBIDDEN",
  /** A parameter, body or path the endpoint cannot take (400). */
  BAD_REQUEST: "UNM_BAD_REQUEST",
  /** The query does not parse (400, with `position`). */
  QUERY_SYNTAX: "UNM_QUERY_SYNTAX",
  /** `from` / `until` do not make a time range (400). */
  TIME_RANGE: "UNM_TIME_RANGE",
  /** A result-set id or `next` cursor the API did not make (400). */
  INVALID_CURSOR: "UNM_INVALID_CURSOR",
  /** A page deeper than the result window (400): read on with a cursor. */
  RESULT_WINDOW: "UNM_RESULT_WINDOW",
  /** No such endpoint or resource (404). */
  NOT_FOUND: "UNM_NOT_FOUND",
  /** The method is not one the endpoint takes (405, with `Allow`). */
  METHOD_NOT_ALLOWED: "UNM_METHOD_NOT_ALLOWED",
  /** The request body is larger than the endpoint takes (413). */
  PAYLOAD_TOO_LARGE: "UNM_PAYLOAD_TOO_LARGE",
  /** Too many failed sign-ins for an address or from a client (429, Retry-After). */
  TOO_MANY_ATTEMPTS: "UNM_TOO_MANY_ATTEMPTS",
  /** The request conflicts with what exists (409): a limit is reached. */
  CONFLICT: "UNM_CONFLICT",
  /** The index refused the read: every reader busy, or the cluster's queue full (503, Retry-After). */
  INDEX_BUSY: "UNM_INDEX_BUSY",
  /** The index could not answer in full (503, Retry-After): a transient failure. */
  INDEX_UNAVAILABLE: "UNM_INDEX_UNAVAILABLE",
  /** The read went over its time or memory budget (504): narrow the range or the query. */
  QUERY_BUDGET: "UNM_QUERY_BUDGET",
  /** The server failed (500): a bug, logged on the server with its stack; the answer says no more. */
  INTERNAL: "UNM_INTERNAL",
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** An error answer, as plain data (the local HTTP server and Lambda's event response both send it). */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { response: "error"; message: string; code: ErrorCode } & Record<string, unknown>;
}

/** The answer to a coded error: its status and headers, and Loggly's error body with the code. */
export function errorAnswer(err: CodedError): ErrorAnswer {
  return {
    status: err.status,
    headers: { "Content-Type": "application/json", ...err.headers },
    body: { response: "error", message: err.message, code: err.code, ...err.details },
  };
}

export function badRequest(message: string, details?: Record<string, unknown>): CodedError {
  return new CodedError(ERROR_CODES.BAD_REQUEST, 400, message, { details });
}

export function notFound(message: string): CodedError {
  return new CodedError(ERROR_CODES.NOT_FOUND, 404, message);
}

/** 405 with the methods the endpoint takes in `Allow`. */
export function methodNotAllowed(message: string, allow: string): CodedError {
  return new CodedError(ERROR_CODES.METHOD_NOT_ALLOWED, 405, message, { headers: { Allow: allow } });
}

/** 500 for an unexpected exception: the caller learns nothing of it (the server logs it). */
export function internalError(): CodedError {
  return new CodedError(ERROR_CODES.INTERNAL, 500, "internal error (the server logged it)");
}

export function conflict(message: string): CodedError {
  return new CodedError(ERROR_CODES.CONFLICT, 409, message);
}
