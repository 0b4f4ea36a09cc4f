/** Index helpers over one syslog line, shared by the header and structured-data scanners. */
import { BOM, CR, isDigit, LF, NUL } from "../chars";
import type { SyslogMessage } from "./message";

/** Value of `count` ASCII digits at `start`, or -1 if any of them is not a digit or lies beyond `end`. */
export function readDigits(line: string, start: number, count: number, end: number): number {
  if (start + count > end) return -1;
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = line.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Logical end of the line: trailing CR/LF/NUL are framing leftovers (LF, CRLF or NUL trailers), not content. */
export function contentEnd(line: string): number {
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== LF && c !== CR && c !== NUL) break;
    end--;
  }
  return end;
}

/** End of the SP-delimited word starting at `p` (index of the SP, or `end`). */
export function wordEnd(line: string, p: number, end: number): number {
  const i = line.indexOf(" ", p);
  return i < 0 || i > end ? end : i;
}

/** Sets msg.message = line[s, end) without a leading UTF-8 BOM (RFC 5424 MSG-UTF8; it breaks JSON detection). */
export function setMessage(line: string, s: number, end: number, msg: SyslogMessage): void {
  if (s < end && line.charCodeAt(s) === BOM) {
    s++;
    msg.flags.push("bom_stripped");
  }
  msg.message = s < end ? line.slice(s, end) : "";
}
