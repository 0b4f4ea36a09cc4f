export { buildCli, main } from "./cli";
export { start, DEFAULTS, type StartConfig, type Running } from "./start";
export { TenantStore, TenantError } from "./tenant-store";
export { PrometheusMetrics } from "./prometheus";
export { createLogger, loggerOptionsFromEnv, prettyLine, type LoggerOptions } from "./logger";
