import { isUtf8 } from "node:buffer";
import type { DeadLetter } from "./dead-letter";
import { stableEventId } from "./ids";
import { decodeProcessedDocs, encodeProcessedDocs } from "./processed-batch";
import type { OutgoingRecord } from "./ports/queue";
import type { TenantDirectory } from "./ports/tenants";
import { decodeRawBatch, encodeRawBatch, RawBatchBuilder, type Transport } from "./raw-record";
import { extractLogglySd } from "./syslog/parse";
import { uniteTags } from "./tags";
import { processedTopic, RAW_TOPIC } from "./topics";

/** Where redriven dead letters are recorded ("partition@offset" of each), so that a rerun skips them. */
export const REDRIVEN_TOPIC = "deadletter.redriven";

/** What sending a dead letter on again means: a record for a topic, or why it cannot be sent on. */
export type RedrivePlan = { topic: string; tenant: string; record: OutgoingRecord } | { skip: string };

const TRANSPORTS = new Set<Transport>(["udp", "tcp", "tls", "http", "https"]);

/**
 * The record that puts a dead letter back into the pipeline where it left it:
 *
 * - `unknown_token` (collector): the message, now that its token belongs to a tenant, as a raw event of
 *   that tenant, received when it was first received, with an id derived from the letter's place in the
 *   dead-letter topic (`position`) — sent on twice, it is still one event in the index;
 * - `process_failed`, and `retries_exhausted` of the process stage: the raw event(s), same ids;
 * - `index_rejected`, and `retries_exhausted` of an index stage: the processed event(s) to the processed
 *   topic of the tenant's tier, same ids (the index keeps an id once).
 *
 * Anything else (a message without a token, too large, an unparseable frame or record) cannot go on
 * as it is: `skip` says why.
 */
export function planRedrive(letter: DeadLetter, position: string, tenants: TenantDirectory): RedrivePlan {
  // Dead letters keep a bounded prefix of what was refused: a cut message must not go on as if whole.
  if (letter.bytes !== undefined && letter.bytesLength !== undefined && letter.bytesLength > Buffer.byteLength(letter.bytes, "base64")) {
    return { skip: `only the first ${Buffer.byteLength(letter.bytes, "base64")} of its ${letter.bytesLength} bytes were kept` };
  }
  try {
    switch (letter.reason) {
      case "unknown_token":
        return fromCollector(letter, position, tenants);
      case "process_failed":
        if (!letter.record) return { skip: "the letter holds no raw event" };
        return { topic: RAW_TOPIC, tenant: letter.record.tenant, record: { key: letter.record.tenant, value: encodeRawBatch(letter.record.tenant, letter.record.collector, [letter.record]) } };
      case "index_rejected": {
        if (!letter.tenant || letter.bytes === undefined) return { skip: "the letter holds no event" };
        const doc = Buffer.from(letter.bytes, "base64").toString("utf8");
        return { topic: processedTopic(tierOf(letter.tenant, tenants)), tenant: letter.tenant, record: { key: letter.tenant, value: encodeProcessedDocs(letter.tenant, [doc]) } };
      }
      case "retries_exhausted": {
        if (letter.bytes === undefined) return { skip: "the letter holds no record" };
        const value = Buffer.from(letter.bytes, "base64");
        if (letter.stage === "process") {
          const tenant = decodeRawBatch(value).tenant;
          return { topic: RAW_TOPIC, tenant, record: { key: tenant, value } };
        }
        const { tenant } = decodeProcessedDocs(value);
        return { topic: processedTopic(tierOf(tenant, tenants)), tenant, record: { key: tenant, value } };
      }
      case "missing_token":
        return { skip: "the message carries no token" };
      default:
        return { skip: `${letter.reason} cannot be processed as it is` };
    }
  } catch (err) {
    return { skip: `the letter's data is damaged: ${(err as Error).message}` };
  }
}

function fromCollector(letter: DeadLetter, position: string, tenants: TenantDirectory): RedrivePlan {
  if (letter.bytes === undefined) return { skip: "the letter holds no message" };
  const frame = Buffer.from(letter.bytes, "base64");
  const sd = extractLogglySd(frame.toString("utf8", 0, Math.min(frame.length, 8192)));
  if (!sd) return { skip: "the message carries no token" };
  const tenant = tenants.byIngestToken(sd.token);
  if (!tenant) return { skip: "its token still belongs to no tenant" };
  const [kind, ...rest] = (letter.source ?? "").split(" ");
  const transport = TRANSPORTS.has(kind as Transport) ? (kind as Transport) : "tcp";
  const batch = new RawBatchBuilder(tenant.name, "redrive");
  batch.add({
    id: stableEventId(letter.at, `deadletter ${position}`),
    receivedAt: letter.at,
    transport,
    remote: rest.join(" ") || "unknown",
    tags: uniteTags(sd.tags).tags,
    bytes: frame,
    invalidUtf8: !isUtf8(frame),
  });
  return { topic: RAW_TOPIC, tenant: tenant.name, record: { key: tenant.name, value: batch.finish() } };
}

function tierOf(tenant: string, tenants: TenantDirectory): string {
  return tenants.byName(tenant)?.tier ?? "default";
}
