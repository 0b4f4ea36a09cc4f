import type { SliceLength } from "../lifecycle/slice-policy";

/**
 * The slice-admin port: what the lifecycle job needs from an index — its slices per tenant, and to drop
 * or create one. The embedded index implements it on slice files, OpenSearch on indices.
 */
export interface SliceInfo {
  name: string;
  start: number;
  end: number;
  bytes: number;
}

export interface SliceAdmin {
  slices(tenant: string): Promise<SliceInfo[]>;
  dropSlice(tenant: string, name: string): Promise<void>;
  /** Creates the slice holding `at` (with the tenant's tier's template) if it does not exist yet. */
  prepareSlice(tenant: string, at: number, length: SliceLength): Promise<void>;
}
