import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { ObjectNotFoundError, type ObjectStore } from "@unmeltable/core";

/**
 * An object written in parts (S3 multipart upload): nothing is visible under the key until complete();
 * abort() (or S3's lifecycle rule for incomplete uploads) discards the parts. Every part but the last
 * must be at least 5 MiB (S3's minimum).
 */
export interface PartUpload {
  uploadPart(body: Buffer): Promise<void>;
  complete(): Promise<void>;
  abort(): Promise<void>;
}

/** What the archive needs of an object store beyond the port: uploads in parts, and conditional writes. */
export interface ArchiveStore extends ObjectStore {
  createUpload(key: string, contentType: string): Promise<PartUpload>;
  /** The object and its entity tag, or undefined when there is none. */
  read(key: string): Promise<{ body: Buffer; etag: string } | undefined>;
  /**
   * Writes only if the object is still as read: `{ etag }` (S3 If-Match) or "absent" (If-None-Match: *).
   * Resolves with the new entity tag, or undefined when the condition did not hold.
   */
  putIf(key: string, body: Buffer, condition: { etag: string } | "absent"): Promise<string | undefined>;
}

/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** The object store on one machine: a directory (`<data-dir>/archive`). Writes are atomic (rename). */
export class DirectoryStore implements ArchiveStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async put(key: string, body: Buffer | { stream: Readable; length: number }): Promise<void> {
    const file = this.file(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    if (Buffer.isBuffer(body)) await fsp.writeFile(tmp, body);
    else await pipeline(body.stream, createWriteStream(tmp));
    await fsp.rename(tmp, file);
  }

  async get(key: string): Promise<Readable> {
    const file = this.file(key);
    try {
      await fsp.access(file);
    } catch {
      throw new ObjectNotFoundError(key);
    }
    return createReadStream(file);
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string) => {
      for (const entry of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (!entry.name.endsWith(".tmp")) {
          const key = path.relative(this.root, full).split(path.sep).join("/");
          if (key.startsWith(prefix)) out.push(key);
        }
      }
    };
    await walk(this.root);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.file(key), { force: true });
  }

  async createUpload(key: string): Promise<PartUpload> {
    const file = this.file(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // A name the listing skips (.tmp): an upload never completed is never seen.
    const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.upload.tmp`;
    const handle = await fsp.open(tmp, "w");
    let closed = false;
    const close = async () => {
      if (!closed) await handle.close();
      closed = true;
    };
    return {
      uploadPart: async (body) => {
        await handle.write(body);
      },
      complete: async () => {
        await handle.sync();
        await close();
        await fsp.rename(tmp, file);
      },
      abort: async () => {
        await close();
        await fsp.rm(tmp, { force: true });
      },
    };
  }

  async read(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    try {
      const body = await fsp.readFile(this.file(key));
      return { body, etag: etagOf(body) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async putIf(key: string, body: Buffer, condition: { etag: string } | "absent"): Promise<string | undefined> {
    const file = this.file(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    // Compare and write under a lock directory (mkdir is atomic): two processes of one machine (the
    // server's scheduled run and `unmeltable archive`) see one winner. A lock left by a killed process
    // is taken over after a minute.
    const lock = `${file}.lock.tmp`;
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.mkdir(lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const age = await fsp.stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > 60_000) await fsp.rm(lock, { recursive: true, force: true });
        else if (attempt > 200) throw new Error(`${lock} is held by another process`);
        else await new Promise((r) => setTimeout(r, 25));
      }
    }
    try {
      const current = await this.read(key);
      if (condition === "absent" ? current !== undefined : current?.etag !== condition.etag) return undefined;
      await this.put(key, body);
      return etagOf(body);
    } finally {
      await fsp.rm(lock, { recursive: true, force: true });
    }
  }

  private file(key: string): string {
    if (key.split("/").some((part) => part === ".." || part === "")) throw new Error(`invalid object key ${key}`);
    return path.join(this.root, ...key.split("/"));
  }
}

function etagOf(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The object store on AWS: an S3 bucket (server-side encryption is the bucket's default). */
export class S3Store implements ArchiveStore {
  private readonly s3: S3Client;

  constructor(
    private readonly bucket: string,
    private readonly prefix = "",
    config: S3ClientConfig = {},
  ) {
    // S3-compatible servers (an endpoint of their own) often do not speak the SDK's default streaming
    // checksums (aws-chunked uploads): only send checksums where S3 requires them.
    this.s3 = new S3Client(config.endpoint ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED", ...config } : config);
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(key: string, body: Buffer | { stream: Readable; length: number }, contentType = "application/octet-stream"): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: Buffer.isBuffer(body) ? body : body.stream,
        ContentLength: body.length,
        ContentType: contentType,
      }),
    );
  }

  async get(key: string): Promise<Readable> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return out.Body as Readable;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey") throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async createUpload(key: string, contentType: string): Promise<PartUpload> {
    const Key = this.prefix + key;
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: contentType }));
    if (!UploadId) throw new Error(`S3 gave no upload id for ${Key}`);
    const parts: { PartNumber: number; ETag: string }[] = [];
    return {
      uploadPart: async (body) => {
        const PartNumber = parts.length + 1;
        const out = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length }));
        parts.push({ PartNumber, ETag: out.ETag ?? "" });
      },
      complete: async () => {
        await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
      },
      abort: async () => {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }));
      },
    };
  }

  async read(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = Buffer.from(await out.Body!.transformToByteArray());
      return { body, etag: out.ETag ?? "" };
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async putIf(key: string, body: Buffer, condition: { etag: string } | "absent"): Promise<string | undefined> {
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.length,
          ContentType: "application/json",
          ...(condition === "absent" ? { IfNoneMatch: "*" } : { IfMatch: condition.etag }),
        }),
      );
      return out.ETag ?? "";
    } catch (err) {
      // 412: the object changed (or exists); 409: another conditional write to it was in progress.
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || e.name === "PreconditionFailed" || e.name === "ConditionalRequestConflict") return undefined;
      // If-Match on a key that is gone: the condition did not hold either.
      if (condition !== "absent" && (status === 404 || e.name === "NoSuchKey")) return undefined;
      throw err;
    }
  }
}
