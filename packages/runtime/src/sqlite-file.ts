import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/**
 * One of the program's SQLite files in the data dir (`tenants.db`, `usage.db`): the data dir created
 * 0700 and the file 0600 before SQLite opens it, whatever the umask (SQLite gives its -wal and -shm files
 * the file's mode); WAL, and a 5 s busy timeout, as the server and a CLI command may use it at once.
 */
export function openDataDirDb(dataDir: string, name: string): Database.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, name);
  closeSync(openSync(file, "a", 0o600));
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}
