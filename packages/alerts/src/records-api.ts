import { badRequest, CodedError, conflict, ERROR_CODES, notFound, RECORD_ID, sameName, type RecordStore, type Stored, type Tenant } from "@unmeltable/core";
import { answerOf, notAllowed, ok, parseBody, pathParts, type RecordsRequest, type RecordsResponse } from "./api-common";

/** What a validator says of a body: the spec, or each field's problem. */
export type Validation<S> = { ok: true; spec: S } | { ok: false; errors: { field: string; message: string; position?: number }[] };

/**
 * A collection of a tenant's named records behind a REST API (saved searches, dashboards):
 *
 *   GET    /apiv2/<collection>       → {<plural>: [...]}   oldest first
 *   POST   /apiv2/<collection>       → 201 {<singular>}
 *   GET    /apiv2/<collection>/ID    → {<singular>}
 *   PUT    /apiv2/<collection>/ID    → {<singular>}        a partial body changes only what it names (PATCH too)
 *   DELETE /apiv2/<collection>/ID    → {response: "ok"}
 *
 * Names are unique within a tenant whatever their case (409 with the name's field error); a tenant keeps
 * at most `maxPerTenant` (409). An invalid body is a 400 with `errors: [{field, message, position?}]`.
 */
export interface RecordCollection<S extends { name: string }> {
  store: RecordStore<S>;
  /** The JSON keys of a list and of one record: `savedsearches`, `savedsearch`. */
  plural: string;
  singular: string;
  /** The record in words, for messages: "saved search", "saved searches". */
  noun: string;
  nouns: string;
  validate(input: unknown, base: S | undefined, now: number): Validation<S>;
  maxPerTenant: number;
  /** What the API shows of a record; `more` is loaded once per answer (e.g. the alerts that use each record). */
  view(record: Stored<S>, more: Map<string, unknown>): Record<string, unknown>;
  /** Loads what `view` shows beside each record, by id. */
  extras?(tenant: Tenant): Promise<Map<string, unknown>>;
  /** Why a record cannot be deleted now (409), or undefined. */
  refuseDelete?(tenant: Tenant, record: Stored<S>): Promise<string | undefined>;
  now?: () => number;
}

export async function answerRecordsApi<S extends { name: string }>(req: RecordsRequest, tenant: Tenant, c: RecordCollection<S>): Promise<RecordsResponse> {
  try {
    const now = c.now?.() ?? Date.now();
    const parts = pathParts(req.path);
    const method = req.method.toUpperCase();
    const show = async (records: Stored<S>[]) => {
      const more = c.extras ? await c.extras(tenant) : new Map<string, unknown>();
      return records.map((r) => c.view(r, more));
    };
    if (parts.length === 0) {
      if (method === "GET") return ok({ [c.plural]: await show(await c.store.list(tenant.name)) });
      if (method === "POST") {
        const spec = valid(c, parseBody(req.body), undefined, now);
        const existing = await c.store.list(tenant.name);
        if (existing.length >= c.maxPerTenant) throw conflict(`a tenant has at most ${c.maxPerTenant} ${c.nouns}: delete one first`);
        uniqueName(c, spec.name, existing);
        const [created] = await show([await c.store.create(tenant.name, spec, now)]);
        return ok({ [c.singular]: created }, 201);
      }
      throw notAllowed(method, "GET, POST");
    }
    if (parts.length !== 1) throw notFound(`no such endpoint: ${req.path}`);
    const id = parts[0]!;
    const current = RECORD_ID.test(id) ? await c.store.get(tenant.name, id) : undefined;
    const found = (r: Stored<S> | undefined): Stored<S> => {
      if (!r) throw notFound(`no ${c.noun} ${id}`);
      return r;
    };
    if (method === "GET") return ok({ [c.singular]: (await show([found(current)]))[0] });
    if (method === "PUT" || method === "PATCH") {
      const old = found(current);
      const spec = valid(c, parseBody(req.body), old, now);
      if (!sameName(spec.name, old.name)) uniqueName(c, spec.name, await c.store.list(tenant.name));
      return ok({ [c.singular]: (await show([found(await c.store.update(tenant.name, id, spec, now))]))[0] });
    }
    if (method === "DELETE") {
      const old = found(current);
      const refused = await c.refuseDelete?.(tenant, old);
      if (refused) throw conflict(refused);
      await c.store.delete(tenant.name, id);
      return ok({ response: "ok" });
    }
    throw notAllowed(method, "GET, PUT, PATCH, DELETE");
  } catch (err) {
    return answerOf(err);
  }
}

function valid<S extends { name: string }>(c: RecordCollection<S>, input: unknown, base: S | undefined, now: number): S {
  const result = c.validate(input, base, now);
  if (!result.ok) throw badRequest(result.errors.map((e) => e.message).join("; "), { errors: result.errors });
  return result.spec;
}

/** 409, with the field error a form shows beside the name. */
function uniqueName<S extends { name: string }>(c: RecordCollection<S>, name: string, existing: Stored<S>[]): void {
  if (existing.some((s) => sameName(s.name, name))) {
    const message = `a ${c.noun} named "${name}" exists already`;
    throw new CodedError(ERROR_CODES.CONFLICT, 409, message, { details: { errors: [{ field: "name", message }] } });
  }
}
