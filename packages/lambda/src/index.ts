export { createMskHandler, PartitionsBlockedError, type MskDriverOptions, type BatchItemFailure, type InvocationContext } from "./msk-driver";
export { partitionBatches } from "./msk-event";
export { appLogger, EmfMetrics, EmfUsage, logger, PowertoolsLogger, powertoolsMetrics, log } from "./powertools";
export { stageHandler } from "./stage-handler";
export { StaticTenantDirectory, readTenants, loadTenantDirectory, updateTenant, updateTenants, DEFAULT_RETENTION_DAYS } from "@unmeltable/tenants-config";
export { errorHandling, indexPort, kafka, kafkaProducer, resetEnvironment, tenantDirectory } from "./environment";
export { apiRequestFromEvent, eventResponse } from "./http-event";
export { alertStore, uiConfig } from "./alerts-env";
