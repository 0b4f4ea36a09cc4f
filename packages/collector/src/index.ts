export { RawBatcher, RAW_BATCH_BYTES, NotStoredError, type RawSink, type BatcherOptions, type WriteFailure } from "./batcher";
export { DeadLetterWriter, DEFAULT_DEAD_LETTER_LIMITS, type DeadLetterLimits } from "./dead-letters";
export { Ingestor, type IngestorOptions } from "./ingestor";
export { startSyslogListeners, normalizeAddress, DEFAULT_STREAM_LIMITS, type StreamLimits, type SyslogListeners, type SyslogListenerOptions } from "./syslog-listeners";
export { type UdpReceivePath } from "./udp-receiver";
export {
  answerWhenDurable,
  createIngestHandler,
  parseIngestPath,
  pixelEvent,
  splitBulk,
  PIXEL_GIF,
  type IngestAnswer,
  type IngestHandler,
  type IngestRequest,
  type HttpIngestOptions,
} from "./http-ingest";
export { SpoolingSink, SpoolFullError, type SpoolOptions } from "./spool";
