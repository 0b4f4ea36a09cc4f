import { pino, type Logger as Pino } from "pino";
import type { LogFields, Logger, LogLevel } from "@unmeltable/core";

/**
 * The logger port on pino, for one machine. Two outputs, chosen by UNMELTABLE_LOG_FORMAT:
 *
 * - `pretty` (the default): one readable line per entry on stderr, as a newcomer running `npm start`
 *   wants to read it — `<time> <message>` for info, `<time> WARN <message>` above it, and the entry's
 *   fields (tenant, stage, partition, error...) as `key=value` after the message;
 * - `json`: pino's own JSON lines (time, level, msg and the fields), for a log shipper.
 *
 * UNMELTABLE_LOG_LEVEL (debug, info, warn, error; default info) drops the levels below it.
 * (Formatting here rather than with pino-pretty: one dependency less, and no worker thread.)
 */
export interface LoggerOptions {
  format?: "pretty" | "json";
  level?: LogLevel;
  /** Where lines go (default stderr). */
  write?: (line: string) => void;
}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const format = options.format ?? "pretty";
  const stream = { write: format === "json" ? write : (line: string) => write(prettyLine(line)) };
  return new PinoLogger(pino({ level: options.level ?? "info", base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream));
}

/** The options from the environment (UNMELTABLE_LOG_FORMAT, UNMELTABLE_LOG_LEVEL); a bad value is an error that names it. */
export function loggerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoggerOptions {
  const format = env.UNMELTABLE_LOG_FORMAT;
  if (format !== undefined && format !== "pretty" && format !== "json") throw new Error(`UNMELTABLE_LOG_FORMAT must be "pretty" or "json", not ${JSON.stringify(format)}`);
  const level = env.UNMELTABLE_LOG_LEVEL;
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) throw new Error(`UNMELTABLE_LOG_LEVEL must be one of ${LEVELS.join(", ")}, not ${JSON.stringify(level)}`);
  return { format, level: level as LogLevel | undefined };
}

class PinoLogger implements Logger {
  constructor(private readonly p: Pino) {}
  debug(message: string, fields?: LogFields): void {
    if (fields) this.p.debug(fields, message);
    else this.p.debug(message);
  }
  info(message: string, fields?: LogFields): void {
    if (fields) this.p.info(fields, message);
    else this.p.info(message);
  }
  warn(message: string, fields?: LogFields): void {
    if (fields) this.p.warn(fields, message);
    else this.p.warn(message);
  }
  error(message: string, fields?: LogFields): void {
    if (fields) this.p.error(fields, message);
    else this.p.error(message);
  }
  child(bindings: LogFields): Logger {
    return new PinoLogger(this.p.child(bindings));
  }
}

const LEVEL_NAMES: Record<number, string> = { 20: "DEBUG", 30: "", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** pino's JSON line as `<time> [LEVEL] <msg> key=value...` (values that are not plain words in JSON). */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...fields } = entry;
  const levelName = LEVEL_NAMES[level as number] ?? String(level);
  let line = `${String(time)}${levelName ? ` ${levelName}` : ""} ${typeof msg === "string" ? msg : JSON.stringify(msg ?? "")}`;
  for (const [k, v] of Object.entries(fields)) {
    const text = typeof v === "string" && /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
    line += ` ${k}=${text}`;
  }
  return `${line}\n`;
}
