/**
 * A seeded generator of realistic log lines (syslog from common daemons, nginx/apache access logs, JSON
 * application logs, JVM GC lines), so that benchmarks are reproducible: the same seed gives the same events.
 */
import { seededRandom } from "../../test/helpers/seeded";

/** The seeded generator the tests use too (mulberry32). */
export const mulberry32 = seededRandom;

const HOSTS = Array.from({ length: 50 }, (_, i) => `web-${String(i + 1).padStart(2, "0")}`);
const APPS = ["sshd", "cron", "kernel", "systemd", "postfix", "haproxy", "redis", "postgres", "kafka", "dockerd"];
const SERVICES = ["orders-svc", "billing-svc", "auth-svc", "search-svc", "cart-svc", "users-svc", "mail-svc"];
const PATHS = ["/", "/api/v1/orders", "/api/v1/users/42", "/login", "/static/app.js", "/health", "/api/v1/search?q=shoes"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const LEVELS = ["debug", "info", "info", "info", "warn", "error"];
const WORDS = ["connection", "accepted", "closed", "timeout", "retrying", "session", "opened", "user", "request", "completed", "failed", "queue", "flushed", "checkpoint", "starting", "stopping"];

export interface CorpusEvent {
  /** The message body (what an app logs). */
  message: string;
  host: string;
  app: string;
  severity: number;
  kind: "syslog" | "access" | "json" | "gc";
}

export class Corpus {
  private readonly rand: () => number;
  constructor(seed = 1) {
    this.rand = mulberry32(seed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)]!;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  next(at: Date = new Date()): CorpusEvent {
    const r = this.rand();
    const host = this.pick(HOSTS);
    if (r < 0.35) {
      const app = this.pick(APPS);
      const words = Array.from({ length: this.int(6, 14) }, () => this.pick(WORDS)).join(" ");
      return { message: `${words} id=${this.int(1, 99999)} from 10.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)} port ${this.int(1024, 65535)}`, host, app, severity: this.int(3, 7), kind: "syslog" };
    }
    if (r < 0.65) {
      const status = this.pick([200, 200, 200, 200, 301, 304, 404, 500, 502]);
      const ts = at.toISOString();
      return {
        message: `10.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)} - - [${ts}] "${this.pick(METHODS)} ${this.pick(PATHS)} HTTP/1.1" ${status} ${this.int(0, 50000)} "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
        host,
        app: this.rand() < 0.5 ? "nginx" : "apache",
        severity: status >= 500 ? 3 : 6,
        kind: "access",
      };
    }
    if (r < 0.9) {
      const service = this.pick(SERVICES);
      const level = this.pick(LEVELS);
      const doc = { level, msg: `${this.pick(WORDS)} ${this.pick(WORDS)}`, user: `u${this.int(1, 5000)}`, status: this.pick([200, 200, 201, 400, 404, 500]), querytime_ms: this.int(1, 900), path: this.pick(PATHS), service };
      return { message: JSON.stringify(doc), host, app: service, severity: level === "error" ? 3 : level === "warn" ? 4 : 6, kind: "json" };
    }
    const before = this.int(100, 900);
    return {
      message: `[${at.toISOString()}][info][gc] GC(${this.int(1, 99999)}) Pause Young (Normal) (G1 Evacuation Pause) ${before}M->${this.int(50, before)}M(1024M) ${(this.rand() * 30).toFixed(3)}ms`,
      host,
      app: "java",
      severity: 6,
      kind: "gc",
    };
  }
}

/** An RFC 5424 line as Loggly's rsyslog template writes it, with the tenant's token in the structured data. */
export function rfc5424(e: CorpusEvent, token: string | undefined, at: Date, tag = "bench"): string {
  const pri = 16 * 8 + e.severity;
  const sd = token ? `[${token}@41058 tag="${tag}"]` : "-";
  return `<${pri}>1 ${at.toISOString()} ${e.host} ${e.app} ${1000 + (e.message.length % 9000)} - ${sd} ${e.message}`;
}
