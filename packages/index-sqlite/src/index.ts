export { EmbeddedIndex, type EmbeddedIndexOptions } from "./embedded-index";
export { IndexReader, FACET_SAMPLE, type ReadOptions } from "./reader";
export { ReaderPool, DEFAULT_QUERY_TIMEOUT_MS, type ReaderPoolOptions } from "./reader-pool";
export { IndexWriter } from "./writer";
export { compileFts, type FtsPlan } from "./fts-compile";
export { sliceFor, parseSliceName, overlapping, SLICE_MS, type Slice, type SliceLength } from "./slices";
