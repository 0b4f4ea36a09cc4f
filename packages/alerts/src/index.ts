export { SqliteAlertStore, FIRINGS_KEPT_PER_TENANT } from "./sqlite-store";
export { webhookSender } from "./webhook";
export { handleAlertsApi, ALERTS_PATH, type AlertsRequest, type AlertsResponse, type AlertsApiDeps } from "./api";
export { startAlertScheduler, type AlertScheduler } from "./scheduler";
export { ObjectAlertStore } from "./object-store";
