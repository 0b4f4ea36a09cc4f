/**
 * A tenant's named records (saved searches today): kept in SQLite on one machine and in the object store
 * on AWS (packages/alerts). A record is its spec plus who owns it and when it changed.
 */
export type Stored<S> = S & { id: string; tenant: string; createdAt: number; updatedAt: number };

export interface RecordStore<S extends object> {
  /** Oldest first. */
  list(tenant: string): Promise<Stored<S>[]>;
  get(tenant: string, id: string): Promise<Stored<S> | undefined>;
  create(tenant: string, spec: S, now: number): Promise<Stored<S>>;
  /** Replaces the spec; undefined when there is no such record. */
  update(tenant: string, id: string, spec: S, now: number): Promise<Stored<S> | undefined>;
  delete(tenant: string, id: string): Promise<boolean>;
}

/** Ids are ours (UUIDs); anything else in a path is refused before it reaches a key or a query. */
export const RECORD_ID = /^[A-Za-z0-9-]{1,64}$/;
