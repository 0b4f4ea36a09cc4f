import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

/**
 * A SQLite file of the alerts package in the data dir (`alerts.db`, `records.db`): the file is the service
 * user's only, whatever the umask (webhook URLs and routing keys are secrets); WAL, and a 5 s busy
 * timeout, as the server and a CLI command may use it at once.
 */
export function openPrivateDb(dataDir: string, name: string): Database.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, name);
  closeSync(openSync(file, "a", 0o600));
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}
