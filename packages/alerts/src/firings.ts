/**
 * Firings kept per tenant; older ones are deleted as new ones are recorded. In a module of its own so
 * that the object store (S3, used in Lambda) does not import the SQLite store and, through it, the
 * native better-sqlite3 into every function bundle.
 */
export const FIRINGS_KEPT_PER_TENANT = 1000;
