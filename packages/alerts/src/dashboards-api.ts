import { DASHBOARD_LIMITS, validateDashboard, type Dashboard, type DashboardSpec, type RecordStore, type Tenant } from "@unmeltable/core";
import type { RecordsRequest, RecordsResponse } from "./api-common";
import { answerRecordsApi } from "./records-api";

/**
 * The dashboards API at `/apiv2/dashboards` (the records API's routes, ./records-api.ts):
 * `{dashboards:[...]}`, `{dashboard}`; body `{name, from?, until?, refreshSeconds?, charts: [{title, type,
 * query, field?, size?}]}` (core's dashboards/dashboard.ts says what each chart shows). Kept beside the
 * saved searches: `<data-dir>/records.db` on one machine, the configuration bucket on AWS.
 */
export interface DashboardsDeps {
  dashboards: RecordStore<DashboardSpec>;
  now?: () => number;
  maxPerTenant?: number;
}

export const DASHBOARDS_PATH = /^\/apiv2\/dashboards(?:\/[^?]*)?(?:\?.*)?$/;

export function answerDashboardsApi(req: RecordsRequest, tenant: Tenant, deps: DashboardsDeps): Promise<RecordsResponse> {
  return answerRecordsApi(req, tenant, {
    store: deps.dashboards,
    plural: "dashboards",
    singular: "dashboard",
    noun: "dashboard",
    nouns: "dashboards",
    validate: validateDashboard,
    maxPerTenant: deps.maxPerTenant ?? DASHBOARD_LIMITS.perTenant,
    now: deps.now,
    view: (d: Dashboard) => ({ id: d.id, name: d.name, from: d.from, until: d.until, refreshSeconds: d.refreshSeconds, charts: d.charts, createdAt: d.createdAt, updatedAt: d.updatedAt }),
  });
}
