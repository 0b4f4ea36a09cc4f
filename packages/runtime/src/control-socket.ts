import { chmod, rm } from "node:fs/promises";
import http from "node:http";
import type { Logger } from "@unmeltable/core";
import type { DeadLetterFilter, RedriveProgress, RedriveReport } from "./dead-letters";

/**
 * The running server's control socket, `<data-dir>/control.sock`: how a command that must write to the
 * embedded queue (which only the server may write while it runs) asks the server to do it. A Unix
 * socket, mode 0600: whoever may open it may already read and write the data dir, so it needs no token,
 * and it is never reachable over the network.
 *
 *   POST /deadletters/redrive  {"reason"?, "tenant"?, "stage"?}
 *     → 200, NDJSON: {"progress":{scanned,total,redriven}}... then {"done":report} or {"error":message}
 */
export const CONTROL_SOCKET = "control.sock";

export interface ControlSocket {
  close(): Promise<void>;
}

export async function startControlSocket(options: {
  file: string;
  redrive: (filter: DeadLetterFilter, onProgress: (p: RedriveProgress) => void) => Promise<RedriveReport>;
  logger: Logger;
}): Promise<ControlSocket | undefined> {
  let busy = false;
  const server = http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/deadletters/redrive") {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: `no such command: ${req.method} ${req.url}` }));
      req.resume();
      return;
    }
    readJson(req)
      .then(async (body) => {
        const filter = toFilter(body);
        if (busy) {
          res.writeHead(409, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "a redrive is already running" }));
          return;
        }
        busy = true;
        res.writeHead(200, { "Content-Type": "application/x-ndjson" });
        try {
          const report = await options.redrive(filter, (progress) => res.write(`${JSON.stringify({ progress })}\n`));
          res.end(`${JSON.stringify({ done: report })}\n`);
        } catch (err) {
          res.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
        } finally {
          busy = false;
        }
      })
      .catch((err: Error) => {
        if (!res.headersSent) res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ error: err.message }));
      });
  });
  // A socket left by a process that died is only a file: take its place.
  await rm(options.file, { force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.file, () => {
        server.off("error", reject);
        resolve();
      });
    });
    await chmod(options.file, 0o600);
  } catch (err) {
    // (A data dir whose path is longer than a socket path may be, about 100 bytes.)
    options.logger.warn(`no control socket at ${options.file} (${(err as Error).message}): commands that change the queue need the server stopped`, { file: options.file, error: (err as Error).message });
    server.close();
    return undefined;
  }
  return {
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await rm(options.file, { force: true });
    },
  };
}

/** Sends a redrive to the server through its control socket; `onProgress` gets its progress lines. */
export function redriveThroughServer(file: string, filter: DeadLetterFilter, onProgress: (p: RedriveProgress) => void): Promise<RedriveReport> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: file, path: "/deadletters/redrive", method: "POST", headers: { "Content-Type": "application/json" } }, (res) => {
      let buffered = "";
      let settled = false;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) {
          if (line.trim() === "") continue;
          const msg = JSON.parse(line) as { progress?: RedriveProgress; done?: RedriveReport; error?: string };
          if (msg.progress) onProgress(msg.progress);
          else if (msg.done) {
            settled = true;
            resolve(msg.done);
          } else if (msg.error !== undefined) {
            settled = true;
            reject(new Error(`the server could not redrive: ${msg.error}`));
          }
        }
      });
      res.on("end", () => {
        if (settled) return;
        const rest = buffered.trim();
        const error = rest ? ((JSON.parse(rest) as { error?: string }).error ?? rest) : `status ${res.statusCode}`;
        reject(new Error(`the server could not redrive: ${error}`));
      });
    });
    req.on("error", (err) => reject(new Error(`cannot reach the running server through ${file}: ${err.message}`)));
    req.end(JSON.stringify(filter));
  });
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
      if (body.length > 64 * 1024) reject(new Error("request too large"));
    });
    req.on("end", () => {
      try {
        resolve(body === "" ? {} : JSON.parse(body));
      } catch {
        reject(new Error("the request is not JSON"));
      }
    });
    req.on("error", reject);
  });
}

function toFilter(body: unknown): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (typeof body !== "object" || body === null) throw new Error("expected a JSON object");
  for (const key of ["reason", "tenant", "stage"] as const) {
    const v = (body as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new Error(`${key} must be a string`);
    filter[key] = v;
  }
  return filter;
}
