/**
 * Splits a syslog byte stream (TCP, TLS) into messages, RFC 6587: each frame is either octet-counted
 * (`MSG-LEN SP SYSLOG-MSG`) or non-transparent (`SYSLOG-MSG LF`, in practice also CRLF, or NUL where the
 * next frame's `<PRI>` follows it), and senders may mix the two on one connection, so the framing is
 * detected per frame.
 *
 * Detection: a frame that starts with a non-zero digit, a run of digits, a space and then `<` is
 * octet-counted. Anything else is newline-delimited — including a plain text line that happens to
 * start with a number ("500 errors in the last minute"), which a naive detector would take for a
 * length and use to swallow the messages after it.
 *
 * Bad input never takes the connection's later frames with it: a frame larger than the limit is reported
 * (with its first `maxFrameBytes` bytes) and skipped exactly (octet-counted) or up to the next newline.
 */
import { CR, GT, LF, LT, NUL, SP } from "../chars";

export interface FrameSink {
  frame(bytes: Buffer): void;
  /** A frame that could not be delivered; `bytes` holds at most maxFrameBytes of it. */
  reject(reason: "event_too_large", bytes: Buffer, detail: string): void;
}

/** An octet count longer than this many digits is not a count (2^31 has 10 digits). */
const MAX_COUNT_DIGITS = 10;

type Mode =
  | { kind: "start" }
  /** Skipping the rest of an oversized octet-counted frame. */
  | { kind: "skip-count"; remaining: number }
  /** Skipping the rest of an oversized newline-delimited frame (up to LF or a NUL trailer). */
  | { kind: "skip-line" };

/** What an unfinished frame at the start of `buf` is waiting for. */
type Waiting =
  /** A newline-delimited frame: a chunk with neither LF nor NUL cannot finish it. */
  | { kind: "line" }
  /** An octet-counted frame: this many bytes from its start. */
  | { kind: "count"; need: number };

/** An unfinished frame this large collects chunks in a list instead of copying them together on every read. */
const COLLECT_FROM_BYTES = 64 * 1024;

export class SyslogDeframer {
  private buf: Buffer = Buffer.alloc(0);
  private mode: Mode = { kind: "start" };
  /** Position of the next NUL in `buf` at or after `nulSearchedFrom`, -1 when there is none: cached so
   * that looking for NUL trailers costs one scan per chunk, not one per frame. */
  private nulAt = -1;
  private nulSearchedFrom = Number.POSITIVE_INFINITY;
  /** Frames delivered or rejected so far: when it moves, what is still buffered belongs to a newer frame. */
  private ended = 0;
  /** Set when the loop stopped for more bytes: what the unfinished frame in `buf` needs. */
  private waiting: Waiting | null = null;
  /**
   * Chunks read after `buf` while a large frame is unfinished, not yet copied together: copying the frame
   * on every 64 KiB read (and scanning it from its start again) made a 1 MB frame cost 8 MB of copying.
   */
  private collected: Buffer[] = [];
  private collectedBytes = 0;
  /**
   * How far into the unfinished newline-delimited frame at the start of `buf` NULs have been looked at
   * already: a frame full of NULs arriving in many reads is looked at once, not once per read.
   */
  private nulResume = 0;
  /** Set by nulTrailer: the NUL whose meaning the bytes after it do not tell yet, or -1. */
  private undecidedAt = -1;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameBytes: number,
  ) {}

  /** Bytes buffered while waiting for the end of a frame (for memory accounting). */
  get buffered(): number {
    return this.buf.length + this.collectedBytes;
  }

  /** How many frames have ended (delivered or rejected) on this stream. */
  get completed(): number {
    return this.ended;
  }

  /** Drops the unfinished frame (the connection is being cut off) and returns its first bytes. */
  discard(): Buffer {
    const head = this.buf;
    this.buf = Buffer.alloc(0);
    this.collected = [];
    this.collectedBytes = 0;
    this.waiting = null;
    this.mode = { kind: "start" };
    return head;
  }

  push(chunk: Buffer): void {
    if (this.waiting !== null && this.buf.length >= COLLECT_FROM_BYTES) {
      if (this.stillUnfinished(chunk)) {
        this.collected.push(chunk);
        this.collectedBytes += chunk.length;
        return;
      }
      this.buf = Buffer.concat([this.buf, ...this.collected, chunk]);
      this.collected = [];
      this.collectedBytes = 0;
    } else {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    }
    this.waiting = null;
    this.nulSearchedFrom = Number.POSITIVE_INFINITY;
    const resume = this.nulResume;
    this.nulResume = 0;
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
        // The oversized line ends where a frame would have: at LF, or at a NUL trailer.
        const lf = buf.indexOf(LF, pos);
        const nul = this.nulTrailer(buf, pos, lf < 0 ? len : lf);
        if (nul === "undecided") {
          pos = this.undecidedAt; // keep that NUL: the next bytes decide
          break;
        }
        const stop = nul >= 0 ? nul : lf;
        if (stop < 0) {
          pos = len;
          break;
        }
        pos = stop + 1;
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
      const next = this.nonTransparent(buf, pos, pos === 0 ? resume : pos);
      if (next === "need-more") break;
      pos = next;
    }
    if (pos >= len) this.waiting = null;
    this.buf = pos >= len ? Buffer.alloc(0) : buf.subarray(pos);
    // Do not keep a large chunk alive for a few leftover bytes.
    if (this.buf.length > 0 && this.buf.length < 4096 && this.buf.buffer.byteLength > 65536) this.buf = Buffer.from(this.buf);
  }

  /** Whether the unfinished frame stays unfinished with `chunk` added (then it need not be looked at yet). */
  private stillUnfinished(chunk: Buffer): boolean {
    const total = this.buffered + chunk.length;
    const w = this.waiting!;
    if (w.kind === "count") return total < w.need;
    return total <= this.maxFrameBytes && chunk.indexOf(LF) < 0 && chunk.indexOf(NUL) < 0;
  }

  /**
   * True when the buffered bytes end with a NUL whose meaning depends on what comes next (see nulTrailer).
   * A sender that ends its messages with NUL and then goes quiet waits on this: its listener calls
   * `flushNulTerminated()` once the connection has been quiet for a moment.
   */
  get holdsNulTerminated(): boolean {
    return this.mode.kind !== "skip-count" && this.buf.length > 0 && this.buf[this.buf.length - 1] === NUL;
  }

  /** Delivers a frame held back by a final NUL (see holdsNulTerminated), or ends the skipping of an oversized one. */
  flushNulTerminated(): void {
    if (!this.holdsNulTerminated) return;
    if (this.mode.kind === "skip-line") {
      this.buf = Buffer.alloc(0);
      this.mode = { kind: "start" };
      return;
    }
    this.end();
  }

  /** The connection ended: a last frame without a trailer is still a frame. */
  end(): void {
    if (this.collectedBytes > 0) this.buf = Buffer.concat([this.buf, ...this.collected]);
    this.collected = [];
    this.collectedBytes = 0;
    this.waiting = null;
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
      if (buf.length - start < this.maxFrameBytes) return this.waitFor(start - pos + this.maxFrameBytes);
      this.reject(Buffer.from(buf.subarray(start, start + this.maxFrameBytes)), `octet-counted frame of ${count} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
      const available = buf.length - start;
      if (available >= count) return start + count;
      this.mode = { kind: "skip-count", remaining: count - available };
      return buf.length;
    }
    if (buf.length - start < count) return this.waitFor(start - pos + count);
    const frame = trimTrailer(buf, start, start + count);
    if (frame.length > 0) this.deliver(frame);
    return start + count;
  }

  /** A newline-delimited frame at `pos`; NULs before `nulFrom` were looked at by an earlier read. */
  private nonTransparent(buf: Buffer, pos: number, nulFrom: number): number | "need-more" {
    const lf = buf.indexOf(LF, pos);
    const end = lf < 0 ? buf.length : lf;
    const nul = this.nulTrailer(buf, nulFrom, end);
    if (nul === "undecided") return this.needMore(buf, pos);
    const stop = nul >= 0 ? nul : end;
    if (stop === buf.length) return this.needMore(buf, pos);
    if (stop - pos > this.maxFrameBytes) {
      this.reject(Buffer.from(buf.subarray(pos, pos + this.maxFrameBytes)), `line of ${stop - pos} bytes exceeds the ${this.maxFrameBytes}-byte limit`);
      return stop + 1;
    }
    const frame = trimTrailer(buf, pos, stop);
    if (frame.length > 0) this.deliver(frame);
    return stop + 1;
  }

  /** The frame starting at `pos` has no end in `buf` yet: wait for more, unless it is already too large. */
  private needMore(buf: Buffer, pos: number): number | "need-more" {
    if (buf.length - pos > this.maxFrameBytes) {
      this.reject(Buffer.from(buf.subarray(pos, pos + this.maxFrameBytes)), `line exceeds the ${this.maxFrameBytes}-byte limit without a newline`);
      this.mode = { kind: "skip-line" };
      return buf.length;
    }
    // A NUL not decided yet is decided by the next bytes, which must be looked at: no collecting then.
    if (this.undecidedAt < 0) this.waiting = { kind: "line" };
    this.nulResume = (this.undecidedAt < 0 ? buf.length : this.undecidedAt) - pos;
    return "need-more";
  }

  /** An octet-counted frame needs `need` bytes from its start. */
  private waitFor(need: number): "need-more" {
    this.waiting = { kind: "count", need };
    return "need-more";
  }

  /**
   * The first NUL in [pos, end) that ends the frame, -1 when none does, or "undecided" when a NUL is the last
   * byte received so far.
   *
   * Some senders end every message with NUL instead of LF, so NUL is a trailer, but only where a new frame
   * follows it (`<PRI>`, or the end of the line): a NUL inside a message (binary junk, a C string pasted
   * into a log line) must not cut the message in two, because the second half carries no token and would be
   * stored in the default tenant, or refused.
   */
  private nulTrailer(buf: Buffer, pos: number, end: number): number | "undecided" {
    this.undecidedAt = -1;
    for (let nul = this.nextNul(buf, pos); nul >= 0 && nul < end; nul = this.nextNul(buf, nul + 1)) {
      const verdict = startsFrame(buf, nul + 1);
      if (verdict === "undecided") {
        this.undecidedAt = nul;
        return "undecided";
      }
      if (verdict) return nul;
    }
    return -1;
  }

  private nextNul(buf: Buffer, pos: number): number {
    if (pos < this.nulSearchedFrom || (this.nulAt >= 0 && this.nulAt < pos)) {
      this.nulAt = buf.indexOf(NUL, pos);
      this.nulSearchedFrom = pos;
    }
    return this.nulAt;
  }

  private deliver(frame: Buffer): void {
    this.ended++;
    this.sink.frame(frame);
  }

  private reject(bytes: Buffer, detail: string): void {
    this.ended++;
    this.sink.reject("event_too_large", bytes, detail);
  }
}

/**
 * Whether a new frame starts at `i`: `<` + 1–3 digits + `>`, or a line ends there (LF, CRLF). Not another
 * NUL: a run of NULs inside a message (padding, UTF-16 text) keeps it whole; in `a\0\0<13>b` the second NUL
 * ends the frame. "undecided" when `buf` ends before that can be told.
 */
function startsFrame(buf: Buffer, i: number): boolean | "undecided" {
  if (i >= buf.length) return "undecided";
  const c = buf[i]!;
  if (c === LF || c === CR) return true;
  if (c !== LT) return false;
  for (let k = i + 1; k <= i + 4; k++) {
    if (k >= buf.length) return "undecided";
    const d = buf[k]!;
    if (d === GT) return k > i + 1;
    if (d < 0x30 || d > 0x39) return false;
  }
  return false;
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
