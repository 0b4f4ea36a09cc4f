/**
 * Splits a syslog byte stream (TCP, TLS) into messages, RFC 6587: each frame is either octet-counted
 * (`MSG-LEN SP SYSLOG-MSG`) or non-transparent (`SYSLOG-MSG LF`, in practice also NUL or CRLF), and
 * senders may mix the two on one connection, so the framing is detected per frame.
 *
 * Detection: a frame that starts with a non-zero digit, a run of digits, a space and then `<` is
 * octet-counted. Anything else is newline-delimited — including a plain text line that happens to
 * start with a number ("500 errors in the last minute"), which a naive detector would take for a
 * length and use to swallow the messages after it.
 *
 * Bad input never takes the connection's later frames with it: a frame larger than the limit is reported
 * (with its first `maxFrameBytes` bytes) and skipped exactly (octet-counted) or up to the next newline.
 */
export interface FrameSink {
  frame(bytes: Buffer): void;
  /** A frame that could not be delivered; `bytes` holds at most maxFrameBytes of it. */
  reject(reason: "event_too_large", bytes: Buffer, detail: string): void;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const LT = 0x3c;
/** An octet count longer than this many digits is not a count (2^31 has 10 digits). */
const MAX_COUNT_DIGITS = 10;

type Mode =
  | { kind: "start" }
  /** Skipping the rest of an oversized octet-counted frame. */
  | { kind: "skip-count"; remaining: number }
  /** Skipping the rest of an oversized newline-delimited frame. */
  | { kind: "skip-line" };

export class SyslogDeframer {
  private buf: Buffer = Buffer.alloc(0);
  private mode: Mode = { kind: "start" };
  /** Position of the next NUL in `buf` at or after `nulSearchedFrom`, -1 when there is none: cached so
   * that looking for NUL trailers costs one scan per chunk, not one per frame. */
  private nulAt = -1;
  private nulSearchedFrom = Number.POSITIVE_INFINITY;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameBytes: number,
  ) {}

  /** Bytes buffered while waiting for the end of a frame (for memory accounting). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.nulSearchedFrom = Number.POSITIVE_INFINITY;
    let pos = 0;
    const buf = this.buf;
    const len = buf.length;
    while (pos < len) {
      if (this.mode.kind === "skip-count") {
        const take = Math.min(this.mode.remaining, len - pos);
        pos += take;
        this.mode.remaining -= take;
        if (this.mode.remaining === 0) this.mode = { kind: "start" };
        continue;
      }
      if (this.mode.kind === "skip-line") {
        const lf = buf.indexOf(LF, pos);
        if (lf < 0) {
          pos = len;
          break;
        }
        pos = lf + 1;
        this.mode = { kind: "start" };
        continue;
      }
      // Between frames: skip stray trailers.
      const c = buf[pos]!;
      if (c === LF || c === CR || c === NUL) {
        pos++;
        continue;
      }
      if (c >= 0x31 && c <= 0x39) {
        const counted = this.tryOctetCounted(buf, pos);
        if (counted === "need-more") break;
        if (counted !== "not-counted") {
          pos = counted;
          continue;
        }
      }
      const next = this.nonTransparent(buf, pos);
      if (next === "need-more") break;
      pos = next;
    }
    this.buf = pos >= len ? Buffer.alloc(0) : buf.subarray(pos);
    // Do not keep a large chunk alive for a few leftover bytes.
    if (this.buf.length > 0 && this.buf.length < 4096 && this.buf.buffer.byteLength > 65536) this.buf = Buffer.from(this.buf);
  }

  /** The connection ended: a last frame without a trailer is still a frame. */
  end(): void {
    if (this.mode.kind === "start" && this.buf.length > 0) {
      const frame = trimTrailer(this.buf, 0, this.buf.length);
      if (frame.length > 0) this.deliver(frame);
    }
    this.buf = Buffer.alloc(0);
    this.mode = { kind: "start" };
  }

  /** Returns the position after the frame, "not-counted" when this frame is not octet-counted, or "need-more". */
  private tryOctetCounted(buf: Buffer, pos: number): number | "not-counted" | "need-more" {
    let i = pos;
    let count = 0;
    while (i < buf.length && i - pos < MAX_COUNT_DIGITS) {
      const d = buf[i]!;
      if (d < 0x30 || d > 0x39) break;
      count = count * 10 + (d - 0x30);
      i++;
    }
    if (i >= buf.length) return i - pos < MAX_COUNT_DIGITS ? "need-more" : "not-counted";
    if (buf[i] !== SP) return "not-counted";
    if (i + 1 >= buf.length) return "need-more";
    if (buf[i + 1] !== LT) return "not-counted";
    const start = i + 1;
    if (count > this.maxFrameBytes) {
      // Report the first maxFrameBytes, then skip the rest of the frame exactly, without buffering it.
      if (buf.length - start < this.maxFrameBytes) return "need-more";
      this.sink.reject("event_too_large", Buffer.from(buf.subarray(start, start + this.maxFrameBytes)), `octet-counted frame of ${count} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
      const available = buf.length - start;
      if (available >= count) return start + count;
      this.mode = { kind: "skip-count", remaining: count - available };
      return buf.length;
    }
    if (buf.length - start < count) return "need-more";
    const frame = trimTrailer(buf, start, start + count);
    if (frame.length > 0) this.deliver(frame);
    return start + count;
  }

  private nonTransparent(buf: Buffer, pos: number): number | "need-more" {
    const lf = buf.indexOf(LF, pos);
    const end = lf < 0 ? buf.length : lf;
    // NUL is also a trailer in the wild (some senders end every message with one).
    const nul = this.nextNul(buf, pos);
    const stop = nul >= 0 && nul < end ? nul : end;
    if (stop === buf.length) {
      if (buf.length - pos > this.maxFrameBytes) {
        this.sink.reject("event_too_large", Buffer.from(buf.subarray(pos, pos + this.maxFrameBytes)), `line exceeds the ${this.maxFrameBytes}-byte limit without a newline`);
        this.mode = { kind: "skip-line" };
        return buf.length;
      }
      return "need-more";
    }
    if (stop - pos > this.maxFrameBytes) {
      this.sink.reject("event_too_large", Buffer.from(buf.subarray(pos, pos + this.maxFrameBytes)), `line of ${stop - pos} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
      return stop + 1;
    }
    const frame = trimTrailer(buf, pos, stop);
    if (frame.length > 0) this.deliver(frame);
    return stop + 1;
  }

  private nextNul(buf: Buffer, pos: number): number {
    if (pos < this.nulSearchedFrom || (this.nulAt >= 0 && this.nulAt < pos)) {
      this.nulAt = buf.indexOf(NUL, pos);
      this.nulSearchedFrom = pos;
    }
    return this.nulAt;
  }

  private deliver(frame: Buffer): void {
    this.sink.frame(frame);
  }
}

/** Strips a trailing CR / LF / NUL (a CRLF sender, or an octet count that included the newline). */
export function trimTrailer(buf: Buffer, start: number, end: number): Buffer {
  let e = end;
  while (e > start) {
    const c = buf[e - 1];
    if (c === LF || c === CR || c === NUL) e--;
    else break;
  }
  return buf.subarray(start, e);
}
