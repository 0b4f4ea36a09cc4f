import { CodedError, errorAnswer, InvalidCursorError, ResultWindowError, type ErrorAnswer } from "@unmeltable/core";

/**
 * The coded error the API answers for a failure, or undefined for a bug (the server answers those 500
 * and logs them). Core's domain errors (the query language's among them) carry their code and status;
 * two are reworded for API clients, who send `next` and pages, not index cursors and offsets.
 */
export function apiErrorOf(err: unknown): CodedError | undefined {
  if (err instanceof InvalidCursorError) return new CodedError(err.code, err.status, "invalid next: use the value the API returned", { cause: err });
  if (err instanceof ResultWindowError) {
    return new CodedError(err.code, err.status, `a page reaches at most the first ${err.window} events of a result set (page × size + size): read further with /apiv2/events/iterate`, { cause: err });
  }
  if (err instanceof CodedError) return err;
  return undefined;
}

/** The answer to a failure the API knows; anything else is rethrown (a bug: 500, logged by the server). */
export function apiErrorAnswer(err: unknown): ErrorAnswer {
  const coded = apiErrorOf(err);
  if (!coded) throw err;
  return errorAnswer(coded);
}
