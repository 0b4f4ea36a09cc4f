import { authenticate, SAVED_SEARCH_LIMITS, validateSavedSearch, type AlertStore, type RecordStore, type SavedSearch, type SavedSearchSpec, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { answerOf, type RecordsRequest, type RecordsResponse } from "./api-common";
import { answerRecordsApi, type RecordCollection } from "./records-api";

/**
 * The saved searches API, tenant-scoped by the API token (`Authorization: bearer TOKEN`), on the records
 * API's routes (./records-api.ts) at `/apiv2/savedsearches`: `{savedsearches:[...]}`, `{savedsearch}`;
 * body `{name, query?, from?, until?}`. `from` and `until` are Loggly time values kept as typed (`-1h`
 * stays relative; defaults `-1h` and `now`). Every saved search lists the alerts built on it
 * (`alerts: [{id, name}]`), and one in use is not deleted (409 naming them).
 */
export interface SavedSearchesDeps {
  searches: RecordStore<SavedSearchSpec>;
  /** The tenant's alerts: a saved search in use cannot be deleted. */
  alerts: Pick<AlertStore, "list">;
  tenants: TenantDirectory;
  now?: () => number;
  maxPerTenant?: number;
}

export const SAVED_SEARCHES_PATH = /^\/apiv2\/savedsearches(?:\/[^?]*)?(?:\?.*)?$/;

export async function handleSavedSearchesApi(req: RecordsRequest, deps: SavedSearchesDeps): Promise<RecordsResponse> {
  let tenant: Tenant;
  try {
    tenant = authenticate(req.headers, deps.tenants, req);
  } catch (err) {
    return answerOf(err);
  }
  return answerSavedSearchesApi(req, tenant, deps);
}

export function answerSavedSearchesApi(req: RecordsRequest, tenant: Tenant, deps: SavedSearchesDeps): Promise<RecordsResponse> {
  return answerRecordsApi(req, tenant, savedSearches(deps));
}

function savedSearches(deps: SavedSearchesDeps): RecordCollection<SavedSearchSpec> {
  /** The alerts built on each saved search, by its id. */
  const alertsBySearch = async (tenant: Tenant) => {
    const byId = new Map<string, { id: string; name: string }[]>();
    for (const a of await deps.alerts.list(tenant.name)) {
      if (a.savedSearchId !== undefined) byId.set(a.savedSearchId, [...(byId.get(a.savedSearchId) ?? []), { id: a.id, name: a.name }]);
    }
    return byId as Map<string, unknown>;
  };
  return {
    store: deps.searches,
    plural: "savedsearches",
    singular: "savedsearch",
    noun: "saved search",
    nouns: "saved searches",
    validate: validateSavedSearch,
    maxPerTenant: deps.maxPerTenant ?? SAVED_SEARCH_LIMITS.perTenant,
    now: deps.now,
    extras: alertsBySearch,
    view: (s: SavedSearch, alerts) => ({ id: s.id, name: s.name, query: s.query, from: s.from, until: s.until, createdAt: s.createdAt, updatedAt: s.updatedAt, alerts: alerts.get(s.id) ?? [] }),
    refuseDelete: async (tenant, s) => {
      const users = ((await alertsBySearch(tenant)).get(s.id) ?? []) as { name: string }[];
      if (users.length === 0) return undefined;
      return `alerts are built on "${s.name}": ${users.map((a) => `"${a.name}"`).join(", ")}; delete them or give them another search first`;
    },
  };
}
