import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger } from "@unmeltable/core";
import { startHttpServers, type HttpServers } from "../../packages/runtime/src/http-server";
import { json, rawRequest, selfSignedCert } from "../helpers/http";

/**
 * The HTTP edge on its own, over real HTTP and HTTPS connections: whatever a handler does — throw, reject,
 * fail halfway through an answer, decode a malformed escape — the client gets an answer (or, once
 * headers are out, a cut connection) and the process goes on serving.
 */
describe("the HTTP server turns every failure into an answer", () => {
  let servers: HttpServers;
  const logged = new MemoryLogger();

  beforeAll(async () => {
    const { certPem, keyPem } = selfSignedCert();
    servers = await startHttpServers({
      host: "127.0.0.1",
      port: 0,
      https: { port: 0, cert: certPem, key: keyPem },
      logger: logged,
      routes: [
        {
          url: "/sync",
          methods: ["GET"],
          handler: () => {
            throw new Error("thrown synchronously");
          },
        },
        { url: "/async", methods: ["GET"], handler: async () => Promise.reject(new Error("rejected")) },
        { url: "/decode/*", methods: ["GET"], handler: async (req) => ({ decoded: decodeURIComponent((req.raw.url ?? "").split("?")[1] ?? "") }) },
        {
          url: "/halfway",
          methods: ["GET"],
          handler: async (_req, reply) => {
            reply.hijack();
            reply.raw.writeHead(200, { "Content-Length": "100" });
            reply.raw.write("the first part");
            await new Promise((r) => setImmediate(r));
            throw new Error("failed after the headers went out");
          },
        },
        { url: "/ok", methods: ["GET", "HEAD", "POST"], body: { text: 10 }, handler: async (req) => ({ ok: true, body: req.body ?? null }) },
      ],
    });
  });
  afterAll(async () => {
    await servers.close();
  });

  for (const secure of [false, true]) {
    const scheme = secure ? "HTTPS" : "HTTP";
    const port = () => (secure ? servers.httpsPort! : servers.httpPort);
    const send = (method: string, target: string, body?: string) => rawRequest({ port: port(), tls: secure, method, target, body });

    it(`answers 500 in JSON to a handler that throws or rejects, and keeps serving (${scheme})`, async () => {
      for (const target of ["/sync", "/async"]) {
        const answer = await send("GET", target);
        expect(answer?.status).toBe(500);
        expect(answer?.headers["content-type"]).toBe("application/json");
        expect(json(answer)).toEqual({ response: "error", message: "internal error (the server logged it)", code: "UNM_INTERNAL" });
      }
      // The log has what the answer hides: the request and the error, with its stack.
      for (const [path, error] of [["/sync", "thrown synchronously"], ["/async", "rejected"]] as const) {
        expect(logged.lines).toContainEqual({ level: "error", message: "HTTP request failed", fields: { method: "GET", path, error, stack: expect.stringContaining(error) } });
      }
      expect(json(await send("GET", "/ok"))).toEqual({ ok: true, body: null });
    });

    it(`cuts the connection of a handler that fails after its headers went out, and keeps serving (${scheme})`, async () => {
      const answer = await send("GET", "/halfway");
      expect(answer?.status).toBe(200);
      expect(answer?.complete).toBe(false);
      expect(json(await send("GET", "/ok"))).toEqual({ ok: true, body: null });
    });

    it(`answers 400 to malformed percent-escapes, in the path or decoded by a handler (${scheme})`, async () => {
      for (const target of ["/decode/%E0%A4%A/", "/%", "/ok/%zz", "/decode/x?%E0%A4%A"]) {
        const answer = await send("GET", target);
        expect(answer?.status, target).toBe(400);
        expect(json(answer).message, target).toMatch(/malformed URL/);
        expect(json(answer).code, target).toBe("UNM_BAD_REQUEST");
      }
    });

    it(`answers 404 to unknown paths, 405 with Allow to wrong methods, HEAD where GET is, 413 past a text body's limit (${scheme})`, async () => {
      const unknown = await send("GET", "/nowhere?x=1");
      expect(unknown?.status).toBe(404);
      expect(json(unknown)).toEqual({ response: "error", message: "no such endpoint: GET /nowhere", code: "UNM_NOT_FOUND" });
      const wrong = await send("DELETE", "/ok");
      expect(wrong?.status).toBe(405);
      expect(wrong?.headers.allow).toBe("GET, HEAD, POST");
      expect(json(wrong)).toEqual({ response: "error", message: "DELETE is not allowed here; use GET, HEAD, POST", code: "UNM_METHOD_NOT_ALLOWED" });
      const head = await send("HEAD", "/ok");
      expect(head?.status).toBe(200);
      expect(head?.body.length).toBe(0);
      const large = await send("POST", "/ok/", "0123456789abc");
      expect([large?.status, json(large).code]).toEqual([413, "UNM_PAYLOAD_TOO_LARGE"]);
      expect(json(await send("POST", "/ok", "short"))).toEqual({ ok: true, body: "short" });
    });

    it(`answers a request line node cannot parse with 400 (${scheme})`, async () => {
      const answer = await send("GET", "/ok bad");
      expect(answer?.status).toBe(400);
      expect(json(answer)).toEqual({ response: "error", message: "malformed HTTP request", code: "UNM_BAD_REQUEST" });
    });
  }
});
