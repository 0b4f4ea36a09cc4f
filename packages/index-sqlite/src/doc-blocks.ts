import { deflateRawSync, inflateRawSync } from "node:zlib";
import type Database from "better-sqlite3";
import { hasTable } from "./schema";

/**
 * Stored events in compressed blocks: a slice keeps each event's JSON document inside a block of up to
 * BLOCK_EVENTS consecutive events (in rowid order), deflated together, in table `docs(first, last, data)`
 * keyed by the block's first rowid. Measured on the mixed corpus (bench/index-writer.ts, bench/RESULTS.md
 * "issue 16 §2"): a document averages 808 B of JSON (the raw line appears in `raw`, `logmsg` and
 * `unparsed`); deflated one by one it takes ~373 B and ~40 µs of CPU (node:zlib's per-call set-up dominates),
 * in blocks deflated at level 1: 64 events 116 B/event and 3.2 µs/event to compress, but 76 µs of CPU to
 * decode a block, paid per search hit in another block (a rare term's 10 hits took 12-16 ms on the busy
 * machine, against 1.2 ms with one text per row); 32 events 127 B, 4 µs, 44 µs per block; 16 events 145 B,
 * 5.2 µs, 23 µs per block; level 6 saves ~10 % for twice the compression CPU. Node 20's zlib has no zstd.
 *
 * A block covers at most BLOCK_SPAN rowids (60 s of event time), so the blocks holding a rowid range
 * [lo, hi] are those whose first rowid lies in [lo - BLOCK_SPAN, hi] — one primary-key range. Blocks of
 * different batches may overlap in time (events arrive out of order); a reader looks at all of them.
 *
 * Block data: byte 0 the codec, then the deflated UTF-8 text: the rowids as base-36 deltas from the
 * block's first rowid, comma-separated, then "\n" and the documents, one per line (JSON.stringify never
 * writes a raw newline). Codec 1: deflate raw. Codec 2: deflate raw with a preset dictionary of the
 * slice (table `dicts`), its id in bytes 1-4 (little-endian) before the deflated text.
 *
 * The dictionary is a sample of the documents of the slice's first batch of at least DICT_MIN_DOCS events
 * (buildDictionary): a block of 32 starts with deflate's window already full of the tenant's field names
 * and common values. Measured on 55,000 documents of the seeded mixed corpus (bench/RESULTS.md, issue 16
 * §2), blocks of 32 at level 1: 130.9 B/event without, 109.9 with a 32 KiB dictionary, at the same CPU
 * (4.8 µs/event to compress, 37 µs a block to decode); level 6 with it gives 90.0 B/event for 8.8 µs.
 *
 * Blocks are deflated at BLOCK_LEVEL 6 since the field tokens' "keyed" scheme (field-tokens.ts) took ~10 µs
 * per event off the writer thread: measured on a 100,000-event slice of the seeded corpus (bench/RESULTS.md,
 * issue 16 §2), with the dictionary, level 1 116.4 B/event, 3 106.8, 5 100.3, 6 96.3, 9 95.7, for 4.2, 5.4,
 * 7.4, 9.3 and 10.9 µs/event of compression; blocks of 48 or 64 instead of 32 change the bytes by < 1 %.
 */
export const BLOCK_EVENTS = 32;
/** Deflate's level for blocks (see above). Decoding costs the same whatever the level. */
const BLOCK_LEVEL = 6;
export const BLOCK_SPAN = 60_000_000;
const CODEC_DEFLATE = 1;
const CODEC_DEFLATE_DICT = 2;
/** Deflate's window: a longer dictionary's start is never used. */
export const DICT_BYTES = 32 * 1024;
/** A batch with fewer documents gives no dictionary (a sample of a few events would serve the slice badly). */
export const DICT_MIN_DOCS = 64;

/** A slice's preset dictionary for its blocks: its row id in `dicts`, and its bytes. */
export interface Dictionary {
  id: number;
  data: Buffer;
}

/**
 * A dictionary sampled from a batch's documents: every k-th one (so each kind of event the batch has is
 * likely in it), from the newest back, until DICT_BYTES; undefined for a batch under DICT_MIN_DOCS.
 */
export function buildDictionary(docs: readonly string[]): Buffer | undefined {
  if (docs.length < DICT_MIN_DOCS) return undefined;
  const step = Math.max(1, Math.floor(docs.length / 48));
  const picked: string[] = [];
  let bytes = 0;
  for (let i = docs.length - 1; i >= 0 && bytes < DICT_BYTES; i -= step) {
    picked.push(docs[i]!);
    bytes += Buffer.byteLength(docs[i]!) + 1;
  }
  const all = Buffer.from(picked.reverse().join("\n"), "utf8");
  return all.length > DICT_BYTES ? all.subarray(all.length - DICT_BYTES) : all;
}

export function encodeBlock(rowids: readonly number[], docs: readonly string[], dict?: Dictionary): Buffer {
  const first = rowids[0]!;
  let head = "";
  for (let i = 0; i < rowids.length; i++) head += (i === 0 ? "" : ",") + (rowids[i]! - first).toString(36);
  const text = Buffer.from(`${head}\n${docs.join("\n")}`, "utf8");
  const z = deflateRawSync(text, dict === undefined ? { level: BLOCK_LEVEL } : { level: BLOCK_LEVEL, dictionary: dict.data });
  // Codec 2 names its dictionary in bytes 1-4.
  const start = dict === undefined ? 1 : 5;
  const out = Buffer.allocUnsafe(start + z.length);
  out[0] = dict === undefined ? CODEC_DEFLATE : CODEC_DEFLATE_DICT;
  if (dict !== undefined) out.writeUInt32LE(dict.id, 1);
  z.copy(out, start);
  return out;
}

/** `dictionary(id)`: the slice's dictionary of that id (see dictionaries()). */
export function decodeBlock(first: number, data: Buffer, dictionary: (id: number) => Buffer): { rowids: number[]; docs: string[] } {
  let text: string;
  if (data[0] === CODEC_DEFLATE) text = inflateRawSync(data.subarray(1)).toString("utf8");
  else if (data[0] === CODEC_DEFLATE_DICT) text = inflateRawSync(data.subarray(5), { dictionary: dictionary(data.readUInt32LE(1)) }).toString("utf8");
  else throw new Error(`stored event block with unknown codec ${data[0]}: written by a newer version of unmeltable`);
  const nl = text.indexOf("\n");
  const rowids = text
    .slice(0, nl)
    .split(",")
    .map((d) => first + Number.parseInt(d, 36));
  const docs = text.slice(nl + 1).split("\n");
  if (docs.length !== rowids.length) throw new Error("stored event block is damaged: rowids and documents differ in number");
  return { rowids, docs };
}

/** Collects a transaction's documents (in rowid order) into blocks, compressed with `dict` when given. */
export class BlockBuilder {
  private rowids: number[] = [];
  private docs: string[] = [];

  constructor(
    private readonly insert: Database.Statement,
    private readonly dict?: Dictionary,
  ) {}

  add(rowid: number, doc: string): void {
    if (this.rowids.length > 0 && (this.rowids.length >= BLOCK_EVENTS || rowid - this.rowids[0]! >= BLOCK_SPAN || rowid < this.rowids[this.rowids.length - 1]!)) this.flush();
    this.rowids.push(rowid);
    this.docs.push(doc);
  }

  flush(): void {
    if (this.rowids.length === 0) return;
    this.insert.run(this.rowids[0], this.rowids[this.rowids.length - 1], encodeBlock(this.rowids, this.docs, this.dict));
    this.rowids = [];
    this.docs = [];
  }
}

/** Whether a slice keeps its documents in blocks (slices made before keep them in `events.doc`). */
export function hasDocBlocks(db: Database.Database): boolean {
  return hasTable(db, "docs");
}

const dictCache = new WeakMap<Database.Database, Map<number, Buffer>>();

/** A connection's dictionaries by id, each read once (a dictionary never changes once committed). */
export function dictionaries(db: Database.Database): (id: number) => Buffer {
  let cache = dictCache.get(db);
  if (!cache) dictCache.set(db, (cache = new Map<number, Buffer>()));
  const known = cache;
  return (id) => {
    let d = known.get(id);
    if (d === undefined) {
      d = db.prepare("SELECT data FROM dicts WHERE id = ?").pluck().get(id) as Buffer | undefined;
      if (d === undefined) throw new Error(`stored event block names dictionary ${id}, which the slice does not have: the slice is damaged`);
      known.set(id, d);
    }
    return d;
  };
}

/** The dictionary new blocks of a slice use (its newest), if it has one. */
export function currentDictionary(db: Database.Database): Dictionary | undefined {
  return db.prepare("SELECT id, data FROM dicts ORDER BY id DESC LIMIT 1").get() as Dictionary | undefined;
}

/**
 * Reads documents of one slice by rowid, decoding each block once while a walk stays in it (rowids a
 * walk asks for are in order, so neighbours share a block). Slices of the older layout read `events.doc`.
 */
export class DocReader {
  /** Blocks that may hold rowids in [lo, hi]: (lo - BLOCK_SPAN, hi, lo). Undefined for a "rows" slice. */
  private readonly blocksAround?: Database.Statement;
  private readonly decoded = new Map<number, Map<number, string>>();
  private readonly dictionary: (id: number) => Buffer;
  private byRowid?: Database.Statement;
  private rowsBetween?: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.dictionary = dictionaries(db);
    if (hasDocBlocks(db)) this.blocksAround = db.prepare("SELECT first, data FROM docs WHERE first BETWEEN ? AND ? AND last >= ?");
  }

  get(rowid: number): string | undefined {
    if (!this.blocksAround) {
      this.byRowid ??= this.db.prepare("SELECT doc FROM events WHERE rowid = ?").pluck();
      return this.byRowid.get(rowid) as string | undefined;
    }
    for (const docs of this.decoded.values()) {
      const d = docs.get(rowid);
      if (d !== undefined) return d;
    }
    for (const { first, data } of this.blocksAround.all(rowid - BLOCK_SPAN, rowid, rowid) as { first: number; data: Buffer }[]) {
      if (this.decoded.has(first)) continue;
      const { rowids, docs } = decodeBlock(first, data, this.dictionary);
      const map = new Map<number, string>();
      for (let i = 0; i < rowids.length; i++) map.set(rowids[i]!, docs[i]!);
      // A few blocks at a time: a walk moves on, and overlapping blocks are few.
      if (this.decoded.size >= 8) this.decoded.delete(this.decoded.keys().next().value!);
      this.decoded.set(first, map);
      const d = map.get(rowid);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  /** Every document with a rowid in [lo, hi], in no particular order. */
  *range(lo: number, hi: number): Generator<string> {
    if (!this.blocksAround) {
      this.rowsBetween ??= this.db.prepare("SELECT doc FROM events WHERE rowid BETWEEN ? AND ?").pluck();
      yield* this.rowsBetween.iterate(lo, hi) as Iterable<string>;
      return;
    }
    for (const { first, data } of this.blocksAround.all(lo - BLOCK_SPAN, hi, lo) as { first: number; data: Buffer }[]) {
      const { rowids, docs } = decodeBlock(first, data, this.dictionary);
      for (let i = 0; i < rowids.length; i++) if (rowids[i]! >= lo && rowids[i]! <= hi) yield docs[i]!;
    }
  }
}
