import { badRequest, parseQuery, type IndexPort, type Tenant } from "@unmeltable/core";
import { intParam, logglyEvent, TIME_CEILING, TIME_FLOOR } from "./loggly-event";

/** Events on each side at most (`size`), and how far from the event they are looked for (`within`). */
const DEFAULT_SIZE = 20;
const MAX_SIZE = 200;
const DEFAULT_WITHIN_MS = 86_400_000;
const MAX_WITHIN_MS = 7 * 86_400_000;
/** Longest event id taken (a UUID is 36 characters; Loggly's own ids are shorter). */
const MAX_ID = 128;

/**
 * GET /apiv2/events/surrounding?at=MS&id=ID&q=SOURCE&size=N&within=MS: what happened around one event
 * in its source — the N events just before it and just after it that match `q` (the source: `syslog.host:"web1"`,
 * `syslog.appName:nginx`, `tag:web`; default every event), whatever search found the event, across the
 * index's slices.
 *
 * Three reads: `before` (earlier than `at`, newest first), `same` (at the same millisecond, but for the
 * event `id` itself), `after` (later, oldest first). Events of the same millisecond are listed apart, not
 * placed before or after: the indexes order them differently (the embedded one by arrival, OpenSearch by
 * its sort), and only their time is theirs. Bounded like every answer: at most MAX_SIZE a side, looked for
 * within MAX_WITHIN_MS of the event.
 */
export async function surrounding(params: URLSearchParams, tenant: Tenant, index: IndexPort) {
  const at = Number(params.get("at") ?? "");
  if (!params.get("at") || !Number.isSafeInteger(at) || at < TIME_FLOOR || at > TIME_CEILING) {
    throw badRequest("at is required: the event's timestamp in epoch milliseconds");
  }
  const id = params.get("id") ?? "";
  if (id.length > MAX_ID) throw badRequest(`id has at most ${MAX_ID} characters`);
  const size = intParam(params, "size", DEFAULT_SIZE, 1, MAX_SIZE);
  const within = intParam(params, "within", DEFAULT_WITHIN_MS, 1, MAX_WITHIN_MS);
  const query = parseQuery(params.get("q") || "*");
  const read = (from: number, until: number, order: "asc" | "desc", n: number) =>
    from > until ? Promise.resolve([]) : index.search({ tenant: tenant.name, query, from, until }, { order, size: n }).then((r) => r.events.map(logglyEvent));
  const [before, same, after] = await Promise.all([
    read(Math.max(TIME_FLOOR, at - within), at - 1, "desc", size),
    // One more than asked: the event itself is among them.
    read(at, at, "asc", size + 1),
    read(at + 1, Math.min(TIME_CEILING, at + within), "asc", size),
  ]);
  return { at, within, before, same: same.filter((e) => e.id !== id).slice(0, size), after };
}
