/**
 * The logger port: levelled lines with structured fields, and `child()` loggers that carry bindings
 * (tenant, stage, partition...) on every line they write. pino writes them on one machine
 * (packages/runtime/src/logger.ts), Powertools Logger on Lambda (packages/lambda/src/powertools.ts);
 * the domain and the adapters only see this interface.
 *
 * The message says what happened in words; what varies (offsets, counts, the error) goes in the fields,
 * so that lines can be searched and grouped by them.
 */
export type LogFields = Record<string, unknown>;

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  /** Something failed and was handled (retried, skipped, kept the last good state): worth a look if it repeats. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed and was not handled, or data was lost. */
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines all carry `bindings` as fields as well. */
  child(bindings: LogFields): Logger;
}

/** A logger that writes nothing, for tools and tests that do not look at the log. */
export const noLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => noLogger,
};

/** The fields of an error worth logging: its message (and code, when it has one), not the whole object. */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code === undefined ? { error: err.message } : { error: err.message, code };
  }
  return { error: String(err) };
}

export interface CapturedLine {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/**
 * A logger that keeps its lines in memory (bindings merged into the fields), for tests that assert what
 * was logged and for tools that show the log themselves.
 */
export class MemoryLogger implements Logger {
  constructor(
    readonly lines: CapturedLine[] = [],
    private readonly bindings: LogFields = {},
  ) {}
  private add(level: LogLevel, message: string, fields?: LogFields): void {
    this.lines.push({ level, message, fields: { ...this.bindings, ...fields } });
  }
  debug(message: string, fields?: LogFields): void {
    this.add("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.add("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.add("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.add("error", message, fields);
  }
  child(bindings: LogFields): Logger {
    return new MemoryLogger(this.lines, { ...this.bindings, ...bindings });
  }
}
