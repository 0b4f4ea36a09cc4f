/**
 * Which partition a tenant's records go to. Records are keyed by tenant, so one tenant's events stay in
 * order on one partition; a busy tenant gets a spread of `spread` consecutive partitions, and each batch
 * goes to one of them (round robin per producer), so its load is shared by several stage consumers.
 */
export function tenantPartition(tenant: string, partitions: number, spread = 1, turn = 0): number {
  const base = fnv1a(tenant) % partitions;
  const width = Math.max(1, Math.min(spread, partitions));
  return (base + (turn % width)) % partitions;
}

/** 32-bit FNV-1a: stable across processes and platforms, unlike anything seeded. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
