import { isUtf8 } from "node:buffer";
import {
  extractLogglySd,
  newEventId,
  uniteTags,
  type Counter,
  type DropReason,
  type Metrics,
  type RawEventInput,
  type Tenant,
  type TenantDirectory,
  type Transport,
  type UsageObserver,
} from "@unmeltable/core";
import type { RawBatcher } from "./batcher";
import type { DeadLetterWriter } from "./dead-letters";

type BoundCounter = { inc(value?: number): void };

const TOKEN_SCAN_BYTES = 8192;
const NO_TAGS: readonly string[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);
/** The end of a Loggly SD-ID ("TOKEN@41058"), as bytes (see structured-data.ts in core). */
const LOGGLY_SD_SUFFIX_BYTES = Buffer.from("@41058");

export interface IngestorOptions {
  tenants: TenantDirectory;
  /** Tenant for syslog messages without a Loggly token; off unless configured (always off in AWS). */
  defaultTenant?: string;
  collector: string;
  maxEventBytes: number;
  batcher: RawBatcher;
  deadLetters: DeadLetterWriter;
  metrics: Metrics;
  /**
   * UDP datagrams are refused (counted as udp_overflow) while more than this many bytes wait to be
   * stored. Streams are paused at the batcher's high water instead; UDP has no way to slow a sender, so
   * during a long storage failure it would otherwise grow memory without end. Default 128 MiB.
   */
  udpHoldBytes?: number;
  /** Told each tenant's accepted events and bytes (per-tenant usage and metrics); a sum in memory, no I/O. */
  usage?: UsageObserver;
}

/** One event of an HTTP request, before it becomes a raw record. */
export interface HttpEvent {
  bytes: Buffer;
}

/**
 * Turns what the listeners receive into raw records: resolves the tenant from the token, assigns the
 * event id and the receive time, keeps bytes that are not UTF-8 exactly as they came (flagged), and
 * hands refused events to the dead letters with a stable reason.
 */
export class Ingestor {
  private readonly received: Counter;
  private readonly accepted: Counter;
  private readonly receivedBytes: Counter;
  private readonly invalidTags: Counter;
  private readonly tagCache = new Map<string, { tags: string[]; rejected: string[] }>();
  /** The default tenant's resolution, kept while the directory returns the same tenant object. */
  private defaultResolved: { tenant: Tenant; tags: readonly string[] } | undefined;
  private readonly bound = new Map<Transport, { received: BoundCounter; bytes: BoundCounter; accepted: BoundCounter }>();

  constructor(private readonly options: IngestorOptions) {
    const m = options.metrics;
    this.received = m.counter("unmeltable_events_received_total", "Events received by the collector, by transport", ["transport"]);
    this.accepted = m.counter("unmeltable_events_accepted_total", "Events accepted into a raw batch, by transport", ["transport"]);
    this.receivedBytes = m.counter("unmeltable_received_bytes_total", "Event bytes received, by transport", ["transport"]);
    this.invalidTags = m.counter("unmeltable_invalid_tags_total", "Tags ignored because they are not valid Loggly tags");
  }

  private counters(transport: Transport) {
    let c = this.bound.get(transport);
    if (!c) {
      const labels = { transport };
      c = { received: this.received.labels(labels), bytes: this.receivedBytes.labels(labels), accepted: this.accepted.labels(labels) };
      this.bound.set(transport, c);
    }
    return c;
  }

  /** A syslog message from UDP, TCP or TLS. Never throws: refused messages become dead letters. */
  syslog(frame: Buffer, transport: Transport, remote: string): void {
    this.syslogFrames([frame], transport, remote);
  }

  /**
   * The syslog messages of one read (a TCP/TLS chunk, a UDP burst) from one sender. What does not depend
   * on the message — the counters, the receive time, the usage sum of a run of one tenant's messages — is
   * done once for all of them rather than once per message (issue 16: per-event work made per-batch).
   * Never throws: refused messages become dead letters.
   */
  syslogFrames(frames: readonly Buffer[], transport: Transport, remote: string): void {
    const n = frames.length;
    if (n === 0) return;
    const counters = this.counters(transport);
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += frames[i]!.length;
    counters.received.inc(n);
    counters.bytes.inc(bytes);
    if (transport === "udp" && this.options.batcher.inflightBytes > (this.options.udpHoldBytes ?? 128 * 1024 * 1024)) {
      this.options.deadLetters.countOnly("udp_overflow", "collector", n);
      return;
    }
    const receivedAt = Date.now();
    const batcher = this.options.batcher;
    // One event object, refilled for each message: the batcher copies it into its batch at once.
    const event: { id: string; receivedAt: number; transport: Transport; remote: string; tags: readonly string[]; bytes: Buffer; invalidUtf8: boolean } = {
      id: "",
      receivedAt,
      transport,
      remote,
      tags: NO_TAGS,
      bytes: EMPTY,
      invalidUtf8: false,
    };
    let runTenant: Tenant | undefined;
    let runEvents = 0;
    let runBytes = 0;
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      const frame = frames[i]!;
      const resolved = this.resolve(frame, transport, remote);
      if (resolved === undefined) continue;
      const tenant = resolved.tenant;
      if (tenant !== runTenant) {
        if (runTenant !== undefined) this.options.usage?.ingested(runTenant.name, runEvents, runBytes);
        runTenant = tenant;
        runEvents = 0;
        runBytes = 0;
      }
      runEvents++;
      runBytes += frame.length;
      accepted++;
      // Read from a stream means acknowledged: the batcher keeps the event until it is stored, and pauses
      // the streams while writes fail or too much waits.
      event.id = newEventId(receivedAt);
      event.tags = resolved.tags;
      event.bytes = frame;
      event.invalidUtf8 = !isUtf8(frame);
      batcher.add(tenant.name, tenant.partitionSpread, event);
    }
    if (runTenant !== undefined) this.options.usage?.ingested(runTenant.name, runEvents, runBytes);
    if (accepted > 0) counters.accepted.inc(accepted);
  }

  /** Datagrams the UDP receiver refused while the main thread was too far behind (udp_overflow, counted only). */
  refuseUdp(n: number): void {
    this.counters("udp").received.inc(n);
    this.options.deadLetters.countOnly("udp_overflow", "collector", n);
  }

  /** The tenant and tags of a syslog message, or undefined when it was refused (and dead-lettered). */
  private resolve(frame: Buffer, transport: Transport, remote: string): { tenant: Tenant; tags: readonly string[] } | undefined {
    if (frame.length > this.options.maxEventBytes) {
      this.drop("event_too_large", `syslog message of ${frame.length} bytes exceeds the ${this.options.maxEventBytes}-byte limit`, transport, remote, frame.subarray(0, this.options.maxEventBytes));
      return undefined;
    }
    // The token sits in the header's structured data: the first 8 KiB of a message always hold it. Its SD-ID
    // ends in "@41058", so a message whose first 8 KiB lack those bytes has none, and is not decoded to
    // look (most syslog carries no token when a default tenant is set).
    const scan = frame.length <= TOKEN_SCAN_BYTES ? frame : frame.subarray(0, TOKEN_SCAN_BYTES);
    const sd = scan.indexOf(LOGGLY_SD_SUFFIX_BYTES) < 0 ? null : extractLogglySd(scan.toString("utf8"));
    if (sd) {
      const tenant = this.options.tenants.byIngestToken(sd.token);
      if (!tenant) {
        this.drop("unknown_token", `unknown token ${JSON.stringify(sd.token.slice(0, 64))}`, transport, remote, frame);
        return undefined;
      }
      return { tenant, tags: sd.tags.length > 0 ? this.sdTags(sd.tags) : NO_TAGS };
    }
    const fallback = this.options.defaultTenant;
    const tenant = fallback === undefined ? undefined : this.options.tenants.byName(fallback);
    if (!tenant) {
      this.drop("missing_token", "the message has no [TOKEN@41058] structured data and there is no default tenant", transport, remote, frame);
      return undefined;
    }
    return this.defaultResolved?.tenant === tenant ? this.defaultResolved : (this.defaultResolved = { tenant, tags: NO_TAGS });
  }

  /**
   * Events of one HTTP request, already size-checked and split. Resolves once all of them are durable.
   * Rejects with NotStoredError when none of them was stored — the queue write failed, or `signal`
   * fired (the request stopped waiting) before the write began — so the client may send them again.
   * A write that has begun is always waited for: a rejection never hides events that will be stored.
   */
  http(tenant: Tenant, events: Buffer[], transport: Transport, remote: string, tags: readonly string[], contentType: string | undefined, signal?: AbortSignal): Promise<void> {
    const counters = this.counters(transport);
    const receivedAt = Date.now();
    const inputs: RawEventInput[] = new Array<RawEventInput>(events.length);
    let total = 0;
    for (let i = 0; i < events.length; i++) {
      const bytes = events[i]!;
      counters.received.inc();
      counters.bytes.inc(bytes.length);
      total += bytes.length;
      inputs[i] = { id: newEventId(receivedAt), receivedAt, transport, remote, tags, bytes, invalidUtf8: !isUtf8(bytes), contentType };
    }
    counters.accepted.inc(events.length);
    this.options.usage?.ingested(tenant.name, events.length, total);
    return this.options.batcher.addRequest(tenant.name, tenant.partitionSpread, inputs, signal);
  }

  /**
   * Tags from a syslog SD element. Senders repeat the same few tag sets, so validated sets are memoised:
   * the per-message cost is one join and one map lookup, with no new arrays.
   */
  private sdTags(raw: readonly string[]): readonly string[] {
    const key = raw.length === 1 ? raw[0]! : raw.join("\u0000");
    let entry = this.tagCache.get(key);
    if (!entry) {
      if (this.tagCache.size >= 4096) this.tagCache.clear();
      entry = uniteTags(raw);
      this.tagCache.set(key, entry);
    }
    if (entry.rejected.length > 0) this.invalidTags.inc(undefined, entry.rejected.length);
    return entry.tags;
  }

  /** Unites and validates tags, counting the invalid ones it leaves out. */
  tags(...lists: (string | readonly string[] | undefined | null)[]): string[] {
    const { tags, rejected } = uniteTags(...lists);
    if (rejected.length > 0) this.invalidTags.inc(undefined, rejected.length);
    return tags;
  }

  /** Records an event refused before it became a raw record (a bounded prefix of it, within a byte budget). */
  drop(reason: DropReason, error: string, transport: Transport, remote: string, bytes: Buffer, tenant?: string): void {
    this.options.deadLetters.refuse({ stage: "collector", reason, error, at: Date.now(), tenant, source: `${transport} ${remote}` }, bytes);
  }
}
