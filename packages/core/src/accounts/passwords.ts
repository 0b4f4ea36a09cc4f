import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Passwords, kept as scrypt hashes (node's own, RFC 7914) with a random salt, in one self-describing
 * string: `scrypt$N$r$p$salt$hash` (base64url), so that the cost can be raised later and old hashes still
 * check. N = 2^15, r = 8, p = 1 (OWASP's scrypt minimum is 2^17 with p = 1 at 128 MiB; 2^15 took 72-90 ms
 * here on two busy cores, and 32 MiB: a trade for a server that also takes logs). Hashed off the event
 * loop (libuv's pool), so a sign-in never stalls ingest.
 */
const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
/** scrypt needs 128·N·r bytes; node refuses past maxmem, whose default (32 MiB) is exactly 2^15·8·128. */
const MAX_MEM = 80 * 1024 * 1024;

export const MIN_PASSWORD_LENGTH = 10;
/** Longer is not a password but a payload: refused before it costs anything. */
export const MAX_PASSWORD_LENGTH = 256;

/** Why a new password cannot be used, or undefined. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string") return "a password is required";
  if (password.length < MIN_PASSWORD_LENGTH) return `a password has at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, { ...cost, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** Whether `password` is the one `stored` was made from; a malformed `stored` matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== "string" || password.length > MAX_PASSWORD_LENGTH) return false;
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Only costs this code could have written: a tampered row must not make the server spend a minute.
  if (!(N >= 2 ** 14 && N <= 2 ** 16 && (N & (N - 1)) === 0 && r === 8 && p >= 1 && p <= 4)) return false;
  const expected = Buffer.from(parts[5]!, "base64url");
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(password, Buffer.from(parts[4]!, "base64url"), { N, r, p });
  return timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: checked against when the user does not exist, so that both take as long. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString("base64url"));
  return decoy;
}
