import { createHash } from "node:crypto";

/**
 * The SHA-256 of an API token, as the tenant table keeps it. A token is 192 random bits, so its hash
 * cannot be reversed by guessing: a slow, salted password hash (scrypt, bcrypt) would add nothing but
 * cost on every request, and an unsalted hash can be the table's key, found with one lookup.
 */
export function apiTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A tenant or account operation refused: the message says why (the CLI prints it, the API answers 400/409). */
export class TenantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TenantError";
  }
}
