export { createMskHandler, PartitionsBlockedError, type MskDriverOptions, type BatchItemFailure, type InvocationContext } from "./msk-driver";
export { partitionBatches } from "./msk-event";
export { EmfMetrics, EmfUsage, logger, powertoolsMetrics, log } from "./powertools";
export { ReloadingTenantDirectory, readTenants, loadTenantDirectory, updateTenant, updateTenants, DEFAULT_RETENTION_DAYS } from "@unmeltable/tenants-config";
export { errorHandling, indexPort, kafka, kafkaProducer, resetEnvironment, tenantDirectory } from "./environment";
export { apiRequestFromEvent, eventResponse } from "./http-event";
export { alertStore, uiConfig } from "./alerts-env";
export { archiveStore } from "./archive-env";
export { functionEnv, readEnv, EnvironmentError, FUNCTION_ENVS, ARCHIVE_STORE_ENV, type FunctionEnv, type FunctionName } from "./function-env";
