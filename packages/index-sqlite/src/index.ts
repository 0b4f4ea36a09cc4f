export { EmbeddedIndex, type EmbeddedIndexOptions, type OpenSliceStats } from "./embedded-index";
export { HandleCache, type HandleCacheOptions, type Lease } from "./handle-cache";
export { defaultOpenSlices, fdLimit, splitOpenSlices, FDS_PER_SLICE } from "./open-slices";
export { misplacedTimestamp, atReceiveTime } from "./placement";
export { IndexReader, FACET_SAMPLE, type ReadOptions, type IndexReaderOptions } from "./reader";
export { ReaderPool, DEFAULT_QUERY_TIMEOUT_MS, type ReaderPoolOptions } from "./reader-pool";
export { IndexWriter, prepareWrite, type IndexWriterOptions } from "./writer";
export { compileFts, type FtsPlan } from "./fts-compile";
export { sliceFor, parseSliceName, overlapping, SLICE_MS, type Slice, type SliceLength } from "./slices";
