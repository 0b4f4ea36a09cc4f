export { SqliteAlertStore } from "./sqlite-store";
export { FIRINGS_KEPT_PER_TENANT } from "./firings";
export { webhookSender, GENERIC_DELIVERY_FAILURE, type WebhookSenderOptions } from "./webhook";
export { WebhookPolicy, addressClass, parseAllowList, systemResolver, boundedResolver, WEBHOOK_ALLOW_ENV, type DestinationCheck, type Resolve, type ResolvedAddress, type WebhookPolicyOptions } from "./destination";
export { answerAlertsApi, handleAlertsApi, ALERTS_PATH, type AlertsRequest, type AlertsResponse, type AlertsApiDeps } from "./api";
export { startAlertScheduler, type AlertScheduler } from "./scheduler";
export { ObjectAlertStore } from "./object-store";
