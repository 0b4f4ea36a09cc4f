import { randomUUID } from "node:crypto";
import { archiveStatusKey, type ArchiveStatus } from "@unmeltable/core";
import { checkpointKey, LEASE_KEY } from "./keys";
import type { ArchiveStore } from "./stores";

/**
 * The archive's own state in the object store, next to what it archived:
 * - a checkpoint per raw partition: the offset the next piece starts at. It moves only after a piece's
 *   objects and manifests are written, so a crash anywhere makes the next run redo that piece.
 * - a lease: one planner at a time (an EventBridge retry and the next hour's run can overlap). Taken
 *   and renewed with conditional writes (If-None-Match / If-Match), so two planners never both hold it;
 *   one that died leaves it to expire.
 * - the status: how far the archive got (`through`), for the missing-day check and the runbook.
 */
export interface Checkpoint {
  partition: number;
  next: number;
  /** Timestamp of the last record archived in this partition. */
  lastTimestamp?: number;
  updatedAt: number;
}

export async function readCheckpoint(store: ArchiveStore, partition: number): Promise<{ checkpoint: Checkpoint; etag: string } | undefined> {
  const got = await store.read(checkpointKey(partition));
  if (!got) return undefined;
  return { checkpoint: JSON.parse(got.body.toString("utf8")) as Checkpoint, etag: got.etag };
}

/** Writes a checkpoint only if it is still the one read (else another planner moved it: an error). */
export async function writeCheckpoint(store: ArchiveStore, checkpoint: Checkpoint, etag: string | undefined): Promise<string> {
  const body = Buffer.from(`${JSON.stringify(checkpoint)}\n`);
  const next = await store.putIf(checkpointKey(checkpoint.partition), body, etag === undefined ? "absent" : { etag });
  if (next === undefined) throw new Error(`the checkpoint of raw partition ${checkpoint.partition} was moved by another run; this run stops for that partition`);
  return next;
}

export class LeaseHeldError extends Error {
  constructor(
    readonly owner: string,
    readonly until: number,
  ) {
    super(`another archive run (${owner}) holds the lease until ${new Date(until).toISOString()}`);
    this.name = "LeaseHeldError";
  }
}

interface LeaseBody {
  owner: string;
  until: number;
}

export class Lease {
  private constructor(
    private readonly store: ArchiveStore,
    readonly owner: string,
    private etag: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lease for `ttlMs`, or throws LeaseHeldError while another live run holds it. */
  static async acquire(store: ArchiveStore, ttlMs: number, now = Date.now): Promise<Lease> {
    const owner = randomUUID();
    const body = () => Buffer.from(`${JSON.stringify({ owner, until: now() + ttlMs } satisfies LeaseBody)}\n`);
    const current = await store.read(LEASE_KEY);
    if (current) {
      const held = JSON.parse(current.body.toString("utf8")) as LeaseBody;
      if (held.until > now()) throw new LeaseHeldError(held.owner, held.until);
    }
    const etag = await store.putIf(LEASE_KEY, body(), current ? { etag: current.etag } : "absent");
    if (etag === undefined) {
      const winner = await store.read(LEASE_KEY);
      const held = winner ? (JSON.parse(winner.body.toString("utf8")) as LeaseBody) : { owner: "unknown", until: now() };
      throw new LeaseHeldError(held.owner, held.until);
    }
    return new Lease(store, owner, etag, ttlMs);
  }

  /** Extends the lease; false when it was lost (expired and taken by another run). */
  async renew(now = Date.now()): Promise<boolean> {
    const etag = await this.store.putIf(LEASE_KEY, Buffer.from(`${JSON.stringify({ owner: this.owner, until: now + this.ttlMs } satisfies LeaseBody)}\n`), { etag: this.etag });
    if (etag === undefined) return false;
    this.etag = etag;
    return true;
  }

  /** Gives the lease up (an expired one is left: the next run takes it over). */
  async release(): Promise<void> {
    await this.store.putIf(LEASE_KEY, Buffer.from(`${JSON.stringify({ owner: this.owner, until: 0 } satisfies LeaseBody)}\n`), { etag: this.etag });
  }
}

export async function readStatus(store: ArchiveStore): Promise<ArchiveStatus | undefined> {
  const got = await store.read(archiveStatusKey());
  return got ? (JSON.parse(got.body.toString("utf8")) as ArchiveStatus) : undefined;
}

export async function writeStatus(store: ArchiveStore, status: ArchiveStatus): Promise<void> {
  await store.put(archiveStatusKey(), Buffer.from(`${JSON.stringify(status, null, 2)}\n`), "application/json");
}
