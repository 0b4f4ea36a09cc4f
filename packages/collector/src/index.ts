export { RawBatcher, type RawSink, type BatcherOptions } from "./batcher";
export { DeadLetterWriter } from "./dead-letters";
export { Ingestor, type IngestorOptions } from "./ingestor";
export { startSyslogListeners, normalizeAddress, type SyslogListeners, type SyslogListenerOptions } from "./syslog-listeners";
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
