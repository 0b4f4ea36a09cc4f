import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { freePort } from "./program";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Whether the answer ended as its framing says (Content-Length or the last chunk), rather than cut off. */
  complete: boolean;
}

/**
 * One request sent byte for byte over a fresh connection (fetch would normalise a malformed URL), and
 * whatever comes back. `undefined` when the connection was refused or closed without a byte of answer.
 */
export function rawRequest(opts: { port: number; tls?: boolean; method: string; target: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
    const headers: Record<string, string> = { Host: "127.0.0.1", Connection: "close", ...opts.headers };
    if (body.length > 0 || ["POST", "PUT", "PATCH"].includes(opts.method)) headers["Content-Length"] ??= String(body.length);
    const head = `${opts.method} ${opts.target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
    const socket = opts.tls ? tls.connect({ host: "127.0.0.1", port: opts.port, rejectUnauthorized: false }) : net.connect({ host: "127.0.0.1", port: opts.port });
    const chunks: Buffer[] = [];
    socket.on(opts.tls ? "secureConnect" : "connect", () => socket.write(Buffer.concat([Buffer.from(head), body])));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (chunks.length === 0 && (err.code === "ECONNREFUSED" || err.code === "ECONNRESET" || err.code === "EPIPE")) resolve(undefined);
      else if (chunks.length > 0) resolve(parseAnswer(Buffer.concat(chunks)));
      else reject(err);
    });
    socket.on("close", () => resolve(chunks.length === 0 ? undefined : parseAnswer(Buffer.concat(chunks))));
  });
}

export function parseAnswer(bytes: Buffer): RawAnswer {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), complete: false };
  const [statusLine, ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  let complete: boolean;
  if (headers["content-length"] !== undefined) {
    complete = body.length === Number(headers["content-length"]);
  } else if (headers["transfer-encoding"] === "chunked") {
    const parts: Buffer[] = [];
    let at = 0;
    complete = false;
    for (;;) {
      const nl = body.indexOf("\r\n", at);
      if (nl < 0) break;
      const size = parseInt(body.subarray(at, nl).toString(), 16);
      if (size === 0) {
        complete = true;
        break;
      }
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    complete = true;
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body, complete };
}

export function json(answer: RawAnswer | undefined): Record<string, unknown> {
  if (!answer) throw new Error("no answer");
  return JSON.parse(answer.body.toString()) as Record<string, unknown>;
}

/** A self-signed certificate for 127.0.0.1 / localhost. */
export function selfSignedCert(): { cert: string; key: string; certPem: Buffer; keyPem: Buffer } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "unmeltable-cert-"));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"], { stdio: "ignore" });
  return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) };
}

/**
 * The program's flags for HTTPS ingest on a free port, with a self-signed certificate (the TLS syslog
 * listener's too, where a test gives it a port).
 */
export async function httpsArgs(): Promise<{ httpsPort: number; args: string[] }> {
  const { cert, key } = selfSignedCert();
  const httpsPort = await freePort();
  return { httpsPort, args: ["--tls-cert", cert, "--tls-key", key, "--https-port", String(httpsPort)] };
}
