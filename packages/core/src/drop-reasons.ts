/**
 * Why an event left the pipeline without reaching the index. Every name is stable: it is the `reason`
 * label of the `unmeltable_dropped_events_total` counter and the `reason` of a dead letter, so dashboards
 * and alerts can rely on it. Add names; never rename one.
 */
export const DROP_REASONS = {
  /** The syslog message carried a Loggly SD element whose token belongs to no tenant. */
  unknown_token: "the ingest token is not known",
  /** The syslog message had no Loggly SD element and the server has no default tenant. */
  missing_token: "the message carries no ingest token and no default tenant is configured",
  /** One event was larger than the per-event limit. */
  event_too_large: "the event exceeds the per-event size limit",
  /** A framing error on a stream (e.g. an octet count that is not a number). */
  unparseable_frame: "the bytes could not be split into a syslog frame",
  /** A queue record whose value could not be decoded as a raw batch. */
  unparseable_record: "the queue record could not be decoded",
  /**
   * A stage failed on the record more times than its retry limit allowed. Only earlier versions wrote
   * it: such records are now retried until they succeed. `unmeltable deadletters redrive` sends them on.
   */
  retries_exhausted: "processing kept failing after every retry",
  /** The index refused the event (e.g. a mapping conflict). */
  index_rejected: "the index rejected the event",
  /**
   * A UDP datagram arrived while more than the collector's memory budget was waiting to be stored (the
   * queue's disk full or failing). TCP senders are paused instead; UDP cannot be slowed down. Counted only.
   */
  udp_overflow: "a UDP message arrived while too much was waiting to be stored",
  /** Turning the raw event into a parsed event failed (a bug: parsers do not throw on bad input). */
  process_failed: "the event could not be processed",
} as const;

export type DropReason = keyof typeof DROP_REASONS;

export function isDropReason(name: string): name is DropReason {
  return Object.hasOwn(DROP_REASONS, name);
}
