import { normalizeAddress, type IngestHandler } from "@unmeltable/collector";
import type { HttpRoute } from "./http-server";

/**
 * Loggly's ingest endpoints on the HTTP server: the body reaches the handler unread (its format is found
 * from its content, whatever Content-Type says, and it is read only once the token is known and the size
 * allowed).
 */
export function ingestRoutes(ingest: IngestHandler): HttpRoute[] {
  const handler: HttpRoute["handler"] = async (req, reply) => {
    const raw = req.raw;
    const answer = await ingest({
      method: req.method,
      url: raw.url ?? "/",
      headers: raw.headers,
      body: raw,
      transport: (raw.socket as { encrypted?: boolean }).encrypted ? "https" : "http",
      remote: normalizeAddress(raw.socket.remoteAddress),
    });
    if (answer.closeConnection) {
      // Answer, then close instead of reading (megabytes of) a body that is refused.
      reply.header("connection", "close");
      reply.raw.once("finish", () => setImmediate(() => raw.destroy()));
    }
    reply.code(answer.status).headers(answer.headers);
    if (Buffer.isBuffer(answer.body)) return reply.send(answer.body);
    return reply.header("content-type", "application/json").send(Buffer.from(JSON.stringify(answer.body)));
  };
  return [
    { url: "/inputs/*", methods: ["GET", "POST", "PUT", "OPTIONS"], body: "stream", handler },
    { url: "/bulk/*", methods: ["POST", "PUT", "OPTIONS"], body: "stream", handler },
  ];
}
