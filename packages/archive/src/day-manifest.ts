import { createHash } from "node:crypto";
import { manifestKey, parseDay, type ArchiveFile, type ArchiveManifest } from "@unmeltable/core";
import { piecesPrefix } from "./keys";
import type { PieceManifest } from "./piece";
import type { ArchiveStore } from "./stores";

/**
 * The day manifest (what replay and the missing-day check read), rebuilt from the piece manifests of the
 * day: every piece that archived events received that day, including pieces read hours or days later
 * (batches a collector spooled while the queue was away). Files of a manifest written by the former daily
 * job (no `pieces`) are kept.
 *
 * Pieces of one partition never overlap (each starts at the checkpoint the one before left); two that
 * do mean the checkpoints were moved by hand, and the rebuild refuses rather than count events twice.
 */
const LEGACY_FILE = /\/[^/]+\/\d{2}\.ndjson\.gz$/;

export async function rebuildDayManifest(store: ArchiveStore, day: string, options: { concurrency?: number } = {}): Promise<ArchiveManifest> {
  const from = parseDay(day);
  const keys = (await store.list(piecesPrefix(day))).filter((k) => k.endsWith(".json"));
  const pieces: PieceManifest[] = [];
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const got = await store.read(key);
      if (got) pieces.push(JSON.parse(got.body.toString("utf8")) as PieceManifest);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, keys.length) }, worker));
  pieces.sort((a, b) => a.partition - b.partition || a.first - b.first);

  const files: ArchiveFile[] = [];
  const partitions: ArchiveManifest["partitions"] = {};
  let events = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    const before = pieces[i - 1];
    if (before && before.partition === p.partition && before.next > p.first) {
      throw new Error(`archive of ${day}: pieces ${before.piece} (to ${before.next}) and ${p.piece} overlap in raw partition ${p.partition}; were the checkpoints moved? Remove the stale piece manifest under ${piecesPrefix(day)}`);
    }
    files.push(...p.files);
    events += p.events;
    const q = (partitions[String(p.partition)] ??= { first: p.offsets.first, last: p.offsets.last, records: 0 });
    q.first = Math.min(q.first, p.offsets.first);
    q.last = Math.max(q.last, p.offsets.last);
    q.records += p.offsets.records;
  }

  const previous = await store.read(manifestKey(day));
  if (previous) {
    // Files of the former daily job (`<tenant>/<HH>.ndjson.gz`, hourKey) belong to no piece: carried over.
    for (const f of (JSON.parse(previous.body.toString("utf8")) as ArchiveManifest).files) {
      if (!LEGACY_FILE.test(f.key)) continue;
      files.push(f);
      events += f.events;
    }
  }
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const checksum = createHash("sha256");
  for (const f of files) checksum.update(`${f.key} ${f.sha256}\n`);
  const manifest: ArchiveManifest = { day, from, until: from + 86_400_000, events, files, partitions, checksum: checksum.digest("hex"), pieces: pieces.map((p) => p.piece) };
  await store.put(manifestKey(day), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), "application/json");
  return manifest;
}
