/**
 * S3's conditional writes in front of s3rver, which ignores them: a PUT with `If-Match` succeeds only
 * while the object's ETag is the one given, and is answered 412 PreconditionFailed otherwise
 * (docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html; 404 NoSuchKey when there is no
 * object); a PUT with `If-None-Match: *` succeeds only while there is no object under the key. Conditional
 * writes are evaluated one at a time, as S3 does for one key. Everything else is
 * passed through unchanged. A model of that documented behaviour, not S3.
 *
 * `beforeConditionalPut` runs before a conditional write is evaluated: a test makes "ops upload the file
 * at the same moment" happen there.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ConditionalS3 {
  url: string;
  beforeConditionalPut: ((path: string) => Promise<void>) | undefined;
  /** Conditional writes refused with 412. */
  refused: number;
  close(): Promise<void>;
}

/** An answer to the client: S3's (s3rver's) or the model's. */
type Reply = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };

export async function startConditionalS3(target: string): Promise<ConditionalS3> {
  const upstream = new URL(target);
  let chain = Promise.resolve();
  const state: ConditionalS3 = { url: "", beforeConditionalPut: undefined, refused: 0, close: async () => undefined };

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<Reply> =>
    new Promise((resolve, reject) => {
      // Headers as sent (the Host header too): the client's signature covers them.
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (res) => {
        readStream(res).then((body) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body }), reject);
      });
      out.on("error", reject);
      out.end(body);
    });

  const etagOf = (path: string): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const r = http.request({ host: upstream.hostname, port: upstream.port, method: "HEAD", path }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? (res.headers.etag as string | undefined) : undefined);
      });
      r.on("error", reject);
      r.end();
    });

  const preconditionFailed = (): Reply => {
    state.refused++;
    return xmlError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  };
  /** A conditional write in its turn (one at a time): `refusal` answers instead of S3 when the condition fails. */
  const conditionalPut = (req: http.IncomingMessage, body: Buffer, refusal: (path: string) => Promise<Reply | undefined>): Promise<Reply> => {
    const path = (req.url ?? "/").split("?")[0]!;
    const turn = chain.then(async () => {
      await state.beforeConditionalPut?.(path);
      return (await refusal(path)) ?? forward(req, body);
    });
    chain = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  };

  // A failure inside the handler answers 502 (as a proxy would) instead of leaving a rejected promise behind.
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(String(err));
    });
  });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = await readStream(req);
    const ifMatch = req.headers["if-match"];
    const ifNoneMatch = req.headers["if-none-match"];
    let reply: Reply;
    if (req.method === "PUT" && ifNoneMatch === "*") {
      // Create only: 412 when the key exists (S3's If-None-Match: * on PutObject).
      reply = await conditionalPut(req, body, async (path) => ((await etagOf(path)) !== undefined ? preconditionFailed() : undefined));
    } else if (req.method === "PUT" && typeof ifMatch === "string") {
      reply = await conditionalPut(req, body, async (path) => {
        const current = await etagOf(path);
        if (current === undefined) return xmlError(404, "NoSuchKey", "The specified key does not exist.");
        return current.replace(/"/g, "") !== ifMatch.replace(/"/g, "") ? preconditionFailed() : undefined;
      });
    } else reply = await forward(req, body);
    const headers = { ...reply.headers };
    delete headers["transfer-encoding"];
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function xmlError(status: number, code: string, message: string): Reply {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>model</RequestId></Error>`);
  return { status, headers: { "content-type": "application/xml", "content-length": String(body.length) }, body };
}

async function readStream(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
