/** The Kafka error codes inside a @platformatic/kafka error (ResponseError, MultipleErrors). */
export function errorCodes(err: unknown): number[] {
  const codes: number[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== "object" || depth > 5) return;
    const o = e as { apiCode?: unknown; errors?: unknown; cause?: unknown };
    if (typeof o.apiCode === "number") codes.push(o.apiCode);
    if (Array.isArray(o.errors)) for (const x of o.errors) visit(x, depth + 1);
    if (o.cause) visit(o.cause, depth + 1);
  };
  visit(err, 0);
  return codes;
}

/** One line with the nested causes @platformatic/kafka wraps errors in. */
export function describe(err: unknown): string {
  const parts: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!e || depth > 4) return;
    if (typeof e !== "object") return void parts.push(typeof e === "string" ? e : typeof e === "number" || typeof e === "boolean" || typeof e === "bigint" ? e.toString() : typeof e);
    const o = e as { message?: string; errors?: unknown[] };
    if (o.message && !parts.includes(o.message)) parts.push(o.message);
    if (Array.isArray(o.errors)) for (const x of o.errors.slice(0, 3)) visit(x, depth + 1);
  };
  visit(err, 0);
  return parts.join(": ") || "unknown error";
}
