export { OpenSearchIndex, type OpenSearchIndexOptions } from "./opensearch-index";
export { openSearchIndexForTiers, type TieredIndex, type TieredOptions } from "./tiers";
export { compileDsl, facetAggregation, luceneGlob, type DslOptions, type TextAnalysis } from "./dsl";
export { project, sortableHex, type Projection } from "./projection";
export { componentTemplate, indexTemplate, componentTemplateName, indexTemplateName, KEY_CHARS, TEMPLATE_VERSION } from "./mapping";
export { IndexNames, sliceName, sliceStart, SLICE_MS, SLICE_LENGTHS, type SliceLength } from "./slices";
export { OpenSearchError, OpenSearchRequestError, OpenSearchUnavailableError, OpenSearchConfigError, InvalidCursorError } from "./errors";
export {
  applyPlacementChange,
  atReceiveTime,
  dedicatedFor,
  DEFAULT_THRESHOLDS,
  locate,
  misplacedTimestamp,
  needsRetentionRecord,
  nextBoundary,
  placementAt,
  placementsOver,
  planPlacement,
  primariesFor,
  placementRetention,
  recordRetention,
  retentionAt,
  layoutsOver,
  readPlan,
  RETENTION_CLASSES,
  retentionClass,
  SHARD_TARGET_BYTES,
  tiersOver,
  type LayoutThresholds,
  type Placement,
  type Location,
  type PlacementChange,
  type TenantLayout,
} from "./layout";
export { poolIndexSettings, poolPartition, poolTemplate, poolTemplateName } from "./mapping";
export { nameBatches, parseSliceName } from "./opensearch-index";
export { POOL } from "./slices";
export { runLayoutLifecycle, type LayoutLifecycleOptions, type LayoutLifecycleReport } from "./lifecycle";
export { ISSUE_ASSUMPTIONS, ISSUE_WORKLOAD, QUIET_WORKLOAD, layoutTable, layoutTableMarkdown, nodesForShards, oldSliceFor, type SizingAssumptions, type TierSizing, type WorkloadGroup } from "./sizing";
