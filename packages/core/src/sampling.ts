import { fnv1a } from "./partitioner";

/**
 * Whether an event belongs to a staging sample of the given rate. Chosen by a hash of the event id, so
 * the same events are picked on every run and by every consumer: a staging pipeline indexes a stable
 * sample of production traffic.
 */
export function isSampled(id: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  // FNV-1a alone mixes the trailing characters poorly; a final avalanche spreads them over all bits.
  let h = fnv1a(id);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000 < rate;
}
