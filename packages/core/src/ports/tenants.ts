import type { Role } from "../accounts/roles";

/** A customer of the platform. */
export interface Tenant {
  name: string;
  /**
   * Sent by log shippers: in the URL for HTTP, in the `TOKEN@41058` SD-ID for syslog. A deployment's
   * tenants config may keep only its SHA-256 (`ingestTokenSha256`): then nothing can show it again
   * (the UI's source setup and `/apiv2/customer` say so), and it was shown once when created.
   */
  ingestToken?: string;
  /** Hex SHA-256 of the ingest token, where the directory keeps the hash instead of the token. */
  ingestTokenSha256?: string;
  /**
   * More ingest tokens beside the first, added from the UI or the API on a deployment (a new sender, or a
   * rotation: add, move the senders, remove the old one), kept as their SHA-256 with a label. The
   * directory takes each like the first.
   */
  extraIngestTokens?: { sha256: string; label: string; createdAt: number }[];
  /**
   * Bearer token for the search API, where the directory keeps it: a deployment's tenants config does;
   * a single machine's tenant table keeps only its SHA-256 (the token is shown when created or rotated),
   * so its tenants carry none.
   */
  apiToken?: string;
  /** Hex SHA-256 of the API token (a deployment's tenants config keeps this, not the token). */
  apiTokenSha256?: string;
  /** Index tier (a processed topic and an index domain of its own). */
  tier: string;
  /** Number of consecutive raw-topic partitions the tenant's batches are spread over. */
  partitionSpread: number;
  /** Length of the tenant's index time slices: hour for busy tenants, week for quiet ones. */
  slice: "hour" | "day" | "week";
  /** Whole slices older than this many days are deleted. */
  retentionDays: number;
  createdAt: number;
  /**
   * Where the tenant's events are indexed over time (the OpenSearch layout), ordered by `from`; each
   * entry holds from its `from` until the next one's. None: pooled from the beginning.
   */
  placements?: Placement[];
  /** What the tenant's plan allows (Loggly's plans are a daily volume); none: unlimited. */
  plan?: Plan;
}

/**
 * A tenant's plan: a daily volume and a sustained rate. Over it nothing is refused or dropped — the
 * collectors accept everything, and the tenant's indexing waits behind the tenants within their plans
 * (docs/plans.md says exactly what an over-plan tenant sees).
 */
export interface Plan {
  /** Bytes of raw events a UTC day (Loggly's "GB/day"). */
  bytesPerDay: number;
  /** Events per second sustained (averaged over a minute). */
  eventsPerSecond: number;
}

/**
 * One period of a tenant's OpenSearch layout: from `from` (epoch ms, a boundary of its slice, set by the
 * lifecycle job at the next boundary, never in the past) the tenant's events go to shared `pooled`
 * indices (routed by tenant, day slices) or to `dedicated` indices of its own with `shards` primaries
 * per slice, on `tier` (default: the tenant's tier).
 */
export interface Placement {
  from: number;
  layout: "pooled" | "dedicated";
  slice: "hour" | "day" | "week";
  shards?: number;
  tier?: string;
  /**
   * The tenant's retention when the placement was made (the lifecycle records it): a pooled placement's
   * retention class and the rule that places backfills at receipt follow it, so a later change of the
   * tenant's retention never moves an event already written (a replay would duplicate it).
   */
  retentionDays?: number;
}

/**
 * What an API credential is: the tenant's own API token (an admin's), or one of a user's — a session
 * from signing in, or an API token the user made — which acts with the user's role as it is now.
 */
export interface Credential {
  tenant: Tenant;
  role: Role;
  /** The user it belongs to; none: the tenant's own API token. */
  user?: { id: string; email: string };
  /** A session from signing in (signing out ends it), not an API token. */
  session?: boolean;
}

/** The in-memory view of the tenant table every request consults; lookups are synchronous and cheap. */
export interface TenantDirectory {
  byIngestToken(token: string): Tenant | undefined;
  byApiToken(token: string): Tenant | undefined;
  /** The credential an API token is, with its role; a directory without users: the tenant's token, an admin. */
  credential?(token: string): Credential | undefined;
  byName(name: string): Tenant | undefined;
  list(): Tenant[];
}

const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Tenant names end up in file names, topic keys and index names, so they are kept simple. */
export function validateTenantName(name: string): string | undefined {
  return TENANT_NAME.test(name)
    ? undefined
    : "a tenant name is 1-63 characters of lowercase letters, digits, '-' and '_', starting with a letter or digit";
}
