import { crc32, deflateRawSync, inflateRawSync } from "node:zlib";

/**
 * On-disk record layout of the embedded log (all integers big-endian):
 *
 *   u32  size        bytes after this field
 *   u32  crc32       of everything after the offset field (magic .. end)
 *   f64  offset      written at flush time, outside the CRC, so offsets can be assigned after encoding
 *   u8   magic = 1
 *   u8   attributes  bit 0: a headers block follows the value; bit 1: the value is deflated (raw deflate)
 *   f64  timestamp   epoch ms
 *   u16  key length (0xffff = null key), key bytes
 *   u32  value length, value bytes
 *   [u32 headers length, headers as JSON]
 *
 * A record is valid when its size fits, its CRC matches and its offset is the previous one plus one;
 * recovery truncates a segment at the first record that is not (a torn write from a crash).
 */
export const HEADER_BYTES = 4 + 4 + 8;
/**
 * Values shorter than this are stored as they are when compressing: a few hundred bytes gain little and
 * each deflate call has a fixed cost (~30 µs in node:zlib, measured in bench/index-writer.ts's notes).
 */
export const COMPRESS_MIN_BYTES = 4096;
const MAGIC = 1;
const NULL_KEY = 0xffff;
const OFFSET_AT = 8;
const CRC_FROM = HEADER_BYTES;

export interface StoredRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** Total bytes on disk, header included. */
  size: number;
}

/**
 * `compress`: deflate the value (level 1: the fastest; a batch of log lines shrinks 3-5x) when it is at
 * least COMPRESS_MIN_BYTES and the result is smaller. The CRC covers the stored bytes.
 */
export function encodeRecord(key: string | null, value: Buffer, timestamp: number, headers?: Record<string, string>, compress = false): Buffer {
  let deflated = false;
  if (compress && value.length >= COMPRESS_MIN_BYTES) {
    const z = deflateRawSync(value, { level: 1 });
    if (z.length < value.length) {
      value = z;
      deflated = true;
    }
  }
  const keyBuf = key === null ? null : Buffer.from(key, "utf8");
  if (keyBuf && keyBuf.length >= NULL_KEY) throw new RangeError("record key too long");
  const hasHeaders = headers !== undefined && Object.keys(headers).length > 0;
  const headersBuf = hasHeaders ? Buffer.from(JSON.stringify(headers), "utf8") : null;
  const body = 1 + 1 + 8 + 2 + (keyBuf?.length ?? 0) + 4 + value.length + (headersBuf ? 4 + headersBuf.length : 0);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + body);
  let p = 0;
  buf.writeUInt32BE(4 + 8 + body, p);
  p += 4 + 4 + 8; // crc and offset are filled in below / at flush
  buf[p++] = MAGIC;
  buf[p++] = (headersBuf ? 1 : 0) | (deflated ? 2 : 0);
  buf.writeDoubleBE(timestamp, p);
  p += 8;
  buf.writeUInt16BE(keyBuf ? keyBuf.length : NULL_KEY, p);
  p += 2;
  if (keyBuf) p += keyBuf.copy(buf, p);
  buf.writeUInt32BE(value.length, p);
  p += 4;
  p += value.copy(buf, p);
  if (headersBuf) {
    buf.writeUInt32BE(headersBuf.length, p);
    p += 4;
    headersBuf.copy(buf, p);
  }
  buf.writeUInt32BE(crc32(buf.subarray(CRC_FROM)), 4);
  return buf;
}

export function setRecordOffset(encoded: Buffer, offset: number): void {
  encoded.writeDoubleBE(offset, OFFSET_AT);
}

export type DecodeResult =
  | { kind: "record"; record: StoredRecord }
  | { kind: "incomplete"; needed: number }
  | { kind: "corrupt"; why: string };

/** Decodes the record starting at `at` in `buf`; `inflate` false leaves a deflated value as stored (a scan that needs no values). */
export function decodeRecord(buf: Buffer, at: number, copyValue = true, inflate = true): DecodeResult {
  if (buf.length - at < HEADER_BYTES) return { kind: "incomplete", needed: HEADER_BYTES };
  const size = buf.readUInt32BE(at);
  const total = 4 + size;
  if (size < 4 + 8 + 1 + 1 + 8 + 2 + 4) return { kind: "corrupt", why: `record size ${size} too small` };
  if (buf.length - at < total) return { kind: "incomplete", needed: total };
  const crc = buf.readUInt32BE(at + 4);
  if (crc32(buf.subarray(at + CRC_FROM, at + total)) !== crc) return { kind: "corrupt", why: "checksum mismatch" };
  const offset = buf.readDoubleBE(at + OFFSET_AT);
  let p = at + CRC_FROM;
  if (buf[p++] !== MAGIC) return { kind: "corrupt", why: "bad magic byte" };
  const attrs = buf[p++]!;
  const timestamp = buf.readDoubleBE(p);
  p += 8;
  const keyLen = buf.readUInt16BE(p);
  p += 2;
  let key: string | null = null;
  if (keyLen !== NULL_KEY) {
    key = buf.toString("utf8", p, p + keyLen);
    p += keyLen;
  }
  const valueLen = buf.readUInt32BE(p);
  p += 4;
  const slice = buf.subarray(p, p + valueLen);
  let value: Buffer;
  if (attrs & 2 && inflate) {
    try {
      value = inflateRawSync(slice);
    } catch (err) {
      return { kind: "corrupt", why: `deflated value does not inflate: ${(err as Error).message}` };
    }
  } else value = copyValue ? Buffer.from(slice) : slice;
  p += valueLen;
  let headers: Record<string, string> = {};
  if (attrs & 1) {
    const hLen = buf.readUInt32BE(p);
    p += 4;
    headers = JSON.parse(buf.toString("utf8", p, p + hLen)) as Record<string, string>;
  }
  return { kind: "record", record: { offset, timestamp, key, value, headers, size: total } };
}
