import {
  authenticate,
  badRequest,
  CodedError,
  conflict,
  ERROR_CODES,
  notFound,
  RECORD_ID,
  SAVED_SEARCH_LIMITS,
  sameName,
  validateSavedSearch,
  type AlertStore,
  type RecordStore,
  type SavedSearch,
  type SavedSearchSpec,
  type Tenant,
  type TenantDirectory,
} from "@unmeltable/core";
import { answerOf, notAllowed, ok, parseBody, pathParts, type RecordsRequest, type RecordsResponse } from "./api-common";

/**
 * The saved searches API, tenant-scoped by the API token (`Authorization: bearer TOKEN`):
 *
 *   GET    /apiv2/savedsearches        → {savedsearches:[...]}   oldest first
 *   POST   /apiv2/savedsearches        → 201 {savedsearch}       body: {name, query?, from?, until?}
 *   GET    /apiv2/savedsearches/ID     → {savedsearch}
 *   PUT    /apiv2/savedsearches/ID     → {savedsearch}           a partial body changes only what it names (PATCH too)
 *   DELETE /apiv2/savedsearches/ID     → {response:"ok"}         409 while alerts are built on it
 *
 * `from` and `until` are Loggly time values kept as typed (`-1h` stays relative; defaults `-1h` and `now`).
 * Names are unique per tenant, without regard to case (409). Every saved search lists the alerts built on
 * it (`alerts: [{id, name}]`). Invalid bodies are answered 400 with `errors: [{field, message, position?}]`.
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
    tenant = authenticate(req.headers, deps.tenants);
  } catch (err) {
    return answerOf(err);
  }
  return answerSavedSearchesApi(req, tenant, deps);
}

export async function answerSavedSearchesApi(req: RecordsRequest, tenant: Tenant, deps: SavedSearchesDeps): Promise<RecordsResponse> {
  try {
    const now = deps.now?.() ?? Date.now();
    const parts = pathParts(req.path);
    const method = req.method.toUpperCase();
    const usedBy = async () => {
      const byId = new Map<string, { id: string; name: string }[]>();
      for (const a of await deps.alerts.list(tenant.name)) {
        if (a.savedSearchId !== undefined) byId.set(a.savedSearchId, [...(byId.get(a.savedSearchId) ?? []), { id: a.id, name: a.name }]);
      }
      return (s: SavedSearch) => view(s, byId.get(s.id) ?? []);
    };
    if (parts.length === 0) {
      if (method === "GET") {
        const [all, show] = await Promise.all([deps.searches.list(tenant.name), usedBy()]);
        return ok({ savedsearches: all.map(show) });
      }
      if (method === "POST") {
        const spec = valid(parseBody(req.body), undefined, now);
        const existing = await deps.searches.list(tenant.name);
        const max = deps.maxPerTenant ?? SAVED_SEARCH_LIMITS.perTenant;
        if (existing.length >= max) throw conflict(`a tenant has at most ${max} saved searches: delete one first`);
        uniqueName(spec.name, existing);
        return ok({ savedsearch: view(await deps.searches.create(tenant.name, spec, now), []) }, 201);
      }
      throw notAllowed(method, "GET, POST");
    }
    if (parts.length !== 1) throw notFound(`no such endpoint: ${req.path}`);
    const id = parts[0]!;
    const current = RECORD_ID.test(id) ? await deps.searches.get(tenant.name, id) : undefined;
    if (method === "GET") return ok({ savedsearch: (await usedBy())(found(current, id)) });
    if (method === "PUT" || method === "PATCH") {
      const old = found(current, id);
      const spec = valid(parseBody(req.body), old, now);
      if (!sameName(spec.name, old.name)) uniqueName(spec.name, await deps.searches.list(tenant.name));
      const saved = found(await deps.searches.update(tenant.name, id, spec, now), id);
      return ok({ savedsearch: (await usedBy())(saved) });
    }
    if (method === "DELETE") {
      const old = found(current, id);
      const users = (await deps.alerts.list(tenant.name)).filter((a) => a.savedSearchId === id);
      if (users.length > 0) {
        const names = users.map((a) => `"${a.name}"`).join(", ");
        throw conflict(`alerts are built on "${old.name}": ${names}; delete them or give them another search first`);
      }
      await deps.searches.delete(tenant.name, id);
      return ok({ response: "ok" });
    }
    throw notAllowed(method, "GET, PUT, PATCH, DELETE");
  } catch (err) {
    return answerOf(err);
  }
}

function found(s: SavedSearch | undefined, id: string): SavedSearch {
  if (!s) throw notFound(`no saved search ${id}`);
  return s;
}

function valid(input: unknown, base: SavedSearchSpec | undefined, now: number): SavedSearchSpec {
  const result = validateSavedSearch(input, base, now);
  if (!result.ok) throw badRequest(result.errors.map((e) => e.message).join("; "), { errors: result.errors });
  return result.spec;
}

/** 409, with the field error a form shows beside the name. */
function uniqueName(name: string, existing: SavedSearch[]): void {
  if (existing.some((s) => sameName(s.name, name))) {
    const message = `a saved search named "${name}" exists already`;
    throw new CodedError(ERROR_CODES.CONFLICT, 409, message, { details: { errors: [{ field: "name", message }] } });
  }
}

/** A saved search as the API shows it (the tenant is the caller's). */
function view(s: SavedSearch, alerts: { id: string; name: string }[]) {
  return { id: s.id, name: s.name, query: s.query, from: s.from, until: s.until, createdAt: s.createdAt, updatedAt: s.updatedAt, alerts };
}
