/**
 * Character codes and classes for the hand-written scanners (syslog, framing, the body parsers, ISO-8601).
 * They compare `charCodeAt` results, so every code here is a UTF-16 unit.
 *
 * charCodeAt past the end of a string returns NaN, and every comparison with NaN is false: `isDigit(s.charCodeAt(i))`
 * is also a bounds check, which the scanners rely on for "is the next char X" questions.
 */

export const NUL = 0x00;
export const TAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const HASH = 0x23;
export const DOLLAR = 0x24;
export const PERCENT = 0x25;
export const SQUOTE = 0x27;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const STAR = 0x2a;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const DASH = 0x2d;
export const DOT = 0x2e;
export const SLASH = 0x2f;
export const ZERO = 0x30;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const LT = 0x3c;
export const EQUALS = 0x3d;
export const GT = 0x3e;
export const AT = 0x40;
export const UPPER_T = 0x54;
export const UPPER_Z = 0x5a;
export const LBRACKET = 0x5b;
export const BACKSLASH = 0x5c;
export const RBRACKET = 0x5d;
export const UNDERSCORE = 0x5f;
export const LOWER_T = 0x74;
export const LOWER_Z = 0x7a;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
/** U+FEFF, the byte order mark some senders put before RFC 5424 MSG text. */
export const BOM = 0xfeff;

/** ASCII `0`-`9`. */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ASCII `A`-`Z`. */
export function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** ASCII `A`-`Z`, `a`-`z`. */
export function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** ASCII letters and digits. */
export function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
