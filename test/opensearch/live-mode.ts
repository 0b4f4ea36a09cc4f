/**
 * How test/contract/index-opensearch.test.ts runs, from the environment (see README.md here):
 *
 *   OPENSEARCH_URL=https://admin:pw@localhost:9200        live: the contract against that cluster
 *   + OPENSEARCH_RECORD=1 (or a file)                      record: through a recording proxy, saved to RECORDING
 *   OPENSEARCH_REPLAY=1 (or a file)                        replay: the saved traffic, no cluster
 *   none of them                                           skip (fail when OPENSEARCH_LIVE=1 asked for a cluster)
 *
 * Recording and replay need the same requests twice, so their tenant names and event ids come from a
 * seeded generator (the seed is saved with the recording) instead of crypto randomness. No imports of
 * node:crypto or @unmeltable/core here: the test mocks both with this module.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Exchange } from "./recorded-server";

export const RECORDING = path.join(import.meta.dirname, "../fixtures/opensearch/recorded/contract.json");

export type Mode = "live" | "record" | "replay" | "missing-url" | "skip";

export interface Recording {
  comment: string;
  seed: string;
  exchanges: Exchange[];
}

/** The recording file: OPENSEARCH_RECORD / OPENSEARCH_REPLAY name one, or are "1" for RECORDING. */
export function recordingFile(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.OPENSEARCH_URL ? env.OPENSEARCH_RECORD : env.OPENSEARCH_REPLAY;
  return v && v !== "1" ? path.resolve(v) : RECORDING;
}

export function liveMode(env: NodeJS.ProcessEnv = process.env): Mode {
  if (env.OPENSEARCH_URL) return env.OPENSEARCH_RECORD ? "record" : "live";
  if (env.OPENSEARCH_REPLAY) return "replay";
  return env.OPENSEARCH_LIVE === "1" ? "missing-url" : "skip";
}

export function loadRecording(): Recording {
  const file = recordingFile();
  if (!existsSync(file)) throw new Error(`no recording at ${file}: record one with OPENSEARCH_URL=... OPENSEARCH_RECORD=1 npm run test:opensearch`);
  return JSON.parse(readFileSync(file, "utf8")) as Recording;
}

/** A seeded source of uuids and UUIDv7-shaped event ids (xorshift over the seed's characters). */
export class SeededIds {
  private state: number;
  constructor(readonly seed: string) {
    let h = 2166136261;
    for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    this.state = h >>> 0 || 1;
  }

  private hex(n: number): string {
    let out = "";
    while (out.length < n) {
      let x = this.state;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.state = x >>> 0;
      out += this.state.toString(16).padStart(8, "0");
    }
    return out.slice(0, n);
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }

  eventId(now: number): string {
    const t = now.toString(16).padStart(12, "0");
    const h = this.hex(19);
    return `${t.slice(0, 8)}-${t.slice(8)}-7${h.slice(0, 3)}-8${h.slice(3, 6)}-${h.slice(6, 18)}`;
  }
}

let ids: SeededIds | undefined;

/** The seeded ids of a record or replay run, undefined otherwise. */
export function seededIds(): SeededIds | undefined {
  const mode = liveMode();
  if (mode !== "record" && mode !== "replay") return undefined;
  if (mode === "replay" && !existsSync(recordingFile())) return undefined; // the harness says so
  ids ??= new SeededIds(mode === "replay" ? loadRecording().seed : `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`);
  return ids;
}
