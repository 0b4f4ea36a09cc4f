/** Failures of the OpenSearch adapter, one class per kind, so callers can tell a retry from a bug. */
export class OpenSearchError extends Error {
  override name = "OpenSearchError";
}

/** OpenSearch answered with an error status the adapter does not handle itself (400, 401, 403, …). */
export class OpenSearchRequestError extends OpenSearchError {
  override name = "OpenSearchRequestError";
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** The start of the response body (error type and reason are at its beginning). */
    readonly bodyExcerpt: string,
  ) {
    super(`OpenSearch ${method} ${path} failed with ${status}: ${bodyExcerpt}`);
  }
}

/** OpenSearch could not be reached or timed out (a transient failure: try again later). */
export class OpenSearchUnavailableError extends OpenSearchError {
  override name = "OpenSearchUnavailableError";
  constructor(
    readonly method: string,
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`OpenSearch ${method} ${path} unavailable: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** A search cursor this adapter did not make: core's error, which every index adapter throws (the API answers 400). */
export { InvalidCursorError } from "@unmeltable/core";

/** An invalid setting: tier, prefix or tenant names that cannot be part of an index name. */
export class OpenSearchConfigError extends OpenSearchError {
  override name = "OpenSearchConfigError";
}

export function excerpt(body: unknown, max = 500): string {
  const s = typeof body === "string" ? body : JSON.stringify(body);
  return s === undefined ? "" : s.length > max ? `${s.slice(0, max)}…` : s;
}
