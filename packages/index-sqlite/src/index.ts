export { EmbeddedIndex, type EmbeddedIndexOptions } from "./embedded-index";
export { IndexReader, FACET_SAMPLE } from "./reader";
export { IndexWriter } from "./writer";
export { compileFts, type FtsPlan } from "./fts-compile";
export { sliceFor, parseSliceName, overlapping, SLICE_MS, type Slice, type SliceLength } from "./slices";
