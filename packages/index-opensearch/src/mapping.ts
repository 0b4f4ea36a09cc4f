/**
 * The composable templates every slice index is created from (OpenSearch creates an index on the first
 * bulk `create` into it): a component template with the analysis settings and the mapping of the event
 * document, and an index template per tier whose pattern is exactly that tier's indices (slices.ts) and
 * which carries the tier's tuning (shards, replicas, refresh interval).
 *
 * The document is the event as the search API returns it plus the projection `f` (projection.ts):
 *  - `dynamic: false`: unknown fields stay in `_source` unindexed, so no event ever changes the mapping;
 *    `event`, `logmsg` and `unparsed` are stored, not indexed (fields are searched through `f`, text
 *    through `raw`, of which logmsg is a part);
 *  - `f` is excluded from `_source`: it is only there to be indexed (at the price of `_update` and
 *    `_reindex`, which this adapter never uses);
 *  - keyword terms longer than KEY_CHARS UTF-16 units are not indexed (`ignore_above`): Lucene refuses a
 *    term above 32,766 bytes (and would reject the event), and 10,000 units are at most 30,000 bytes.
 */
import type { TextAnalysis } from "./dsl";
import type { IndexNames } from "./slices";

export const KEY_CHARS = 10_000;
/** Bumped when the templates change; a template's `version` says which one a cluster has. */
export const TEMPLATE_VERSION = 2;

export interface TemplateOptions {
  names: IndexNames;
  analysis: TextAnalysis;
  refreshInterval: string;
  shards: number;
  /** Primaries of a pooled index created by its first bulk (the lifecycle creates them ahead, sized). */
  poolShards?: number;
  replicas?: number;
  priority: number;
}

export function componentTemplateName(names: IndexNames): string {
  return `${names.prefix}-${names.tier}.event`;
}

export function indexTemplateName(names: IndexNames): string {
  return `${names.prefix}-${names.tier}`;
}

/**
 * The analyzer of `raw`, as close as OpenSearch gets to match.ts's tokens (NFD, combining marks removed,
 * lower-cased, maximal runs of letters and digits):
 *  - char filters: ("icu") the analysis-icu plugin's NFD, then every combining mark removed;
 *  - a pattern tokenizer with match.ts's own token regex (the standard tokenizer would keep
 *    `users_email_key`, `10.0.0.5` and `example.com` whole and split `日本語` into characters);
 *  - lowercase; ("asciifolding") folding of precomposed Latin letters, keeping the original token too
 *    (so a prefix query finds either form); truncation of giant tokens below Lucene's term limit.
 */
function analysisSettings(analysis: TextAnalysis): Record<string, unknown> {
  const icu = analysis === "icu";
  return {
    char_filter: {
      ...(icu ? { unmeltable_nfd: { type: "icu_normalizer", name: "nfc", mode: "decompose" } } : {}),
      unmeltable_marks: { type: "pattern_replace", pattern: "\\p{M}+", replacement: "" },
    },
    tokenizer: { unmeltable_words: { type: "pattern", pattern: "[\\p{L}\\p{N}]+", group: 0 } },
    filter: {
      ...(icu ? {} : { unmeltable_fold: { type: "asciifolding", preserve_original: true } }),
      unmeltable_truncate: { type: "truncate", length: 8191 },
    },
    analyzer: {
      unmeltable_text: {
        type: "custom",
        char_filter: icu ? ["unmeltable_nfd", "unmeltable_marks"] : ["unmeltable_marks"],
        tokenizer: "unmeltable_words",
        filter: icu ? ["lowercase", "unmeltable_truncate"] : ["lowercase", "unmeltable_fold", "unmeltable_truncate"],
      },
    },
    normalizer: { unmeltable_lowercase: { type: "custom", filter: ["lowercase"] } },
  };
}

export function componentTemplate(o: TemplateOptions): Record<string, unknown> {
  const keyword = (extra: Record<string, unknown> = {}) => ({ type: "keyword", ...extra });
  return {
    template: {
      settings: { analysis: analysisSettings(o.analysis) },
      mappings: {
        dynamic: false,
        _source: { excludes: ["f"] },
        properties: {
          id: keyword(),
          tenant: keyword(),
          timestamp: { type: "date", format: "epoch_millis", fields: { keyword: keyword({ doc_values: false }) } },
          receivedAt: { type: "date", format: "epoch_millis" },
          // For OpenSearch Dashboards users; queries from this adapter use f (tag / logtype paths).
          tags: keyword({ normalizer: "unmeltable_lowercase" }),
          logtypes: keyword({ normalizer: "unmeltable_lowercase" }),
          // Logs are sorted by time, never ranked: no norms.
          raw: { type: "text", analyzer: "unmeltable_text", norms: false },
          f: {
            properties: {
              paths: keyword(),
              term: keyword({ doc_values: false, ignore_above: KEY_CHARS }),
              num: keyword({ doc_values: false }),
              str: keyword({ ignore_above: KEY_CHARS }),
              // A `wildcard` field (OpenSearch 2.15+; the domains run 2.19, and Amazon OpenSearch Service has it
              // from 2.15: it is core, not a plugin): `*rror` finds candidates by 1–3 character substrings
              // instead of scanning one unique keyword term per event. doc_values: its second phase reads the
              // value from doc values, else from _source, where f is not
              // (https://docs.opensearch.org/latest/mappings/supported-field-types/wildcard/).
              glob: { type: "wildcard", doc_values: true, ignore_above: KEY_CHARS },
            },
          },
        },
      },
    },
    version: TEMPLATE_VERSION,
    _meta: { managed_by: "unmeltable", description: "Loggly event document and its search projection (packages/index-opensearch)" },
  };
}

export function indexTemplate(o: TemplateOptions): Record<string, unknown> {
  return {
    index_patterns: [o.names.tierPattern],
    priority: o.priority,
    composed_of: [componentTemplateName(o.names)],
    template: {
      settings: {
        number_of_shards: o.shards,
        ...(o.replicas !== undefined ? { number_of_replicas: o.replicas } : {}),
        // Ingest throughput over freshness: a refresh per second per slice costs segments and merges.
        refresh_interval: o.refreshInterval,
      },
    },
    version: TEMPLATE_VERSION,
    _meta: { managed_by: "unmeltable" },
  };
}

export function poolTemplateName(names: IndexNames): string {
  return `${names.prefix}-${names.tier}.pool`;
}

/**
 * Settings of a pooled index of `shards` primaries: a tenant's documents (routed by tenant) spread over
 * `index.routing_partition_size` of them, so one busy tenant does not make a hot shard. The setting must
 * be below number_of_shards (unless 1), and such an index must require routing in its mapping
 * (https://docs.opensearch.org/latest/install-and-configure/configuring-opensearch/index-settings/,
 * https://docs.opensearch.org/latest/field-types/metadata-fields/routing/).
 */
export function poolIndexSettings(shards: number): Record<string, unknown> {
  return { number_of_shards: shards, ...(shards > 1 ? { routing_partition_size: poolPartition(shards) } : {}) };
}

/** Shards one tenant's documents spread over in a pooled index: a quarter of them, at least 2, always fewer than all. */
export function poolPartition(shards: number): number {
  return shards > 1 ? Math.min(shards - 1, Math.max(2, Math.ceil(shards / 4))) : 1;
}

/**
 * The index template of the tier's pooled indices (`<prefix>-<tier>._pool-*`): a higher priority than
 * the tier's template, whose pattern they also match (only the highest-priority matching index template
 * applies, and two of the same priority with overlapping patterns are refused), the same component, and
 * `_routing.required`: a pooled write without the tenant's routing is refused (routing_missing_exception)
 * instead of landing on a shard that a routed search never reads.
 */
export function poolTemplate(o: TemplateOptions): Record<string, unknown> {
  return {
    index_patterns: [o.names.poolPattern],
    priority: o.priority + 1,
    composed_of: [componentTemplateName(o.names)],
    template: {
      settings: {
        ...poolIndexSettings(o.poolShards ?? 1),
        ...(o.replicas !== undefined ? { number_of_replicas: o.replicas } : {}),
        refresh_interval: o.refreshInterval,
      },
      mappings: { _routing: { required: true } },
    },
    version: TEMPLATE_VERSION,
    _meta: { managed_by: "unmeltable" },
  };
}
