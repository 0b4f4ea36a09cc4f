export { answerApi, apiMethodError, API_METHODS, handleApi, parseInterval, type ApiRequest, type ApiResponse, type ApiDeps } from "./routes";
export { logglyEvent } from "./loggly-event";
export { apiErrorAnswer, apiErrorOf } from "./errors";
export * from "./usage";
export { planExport, collectExport, exportHeaders, EXPORT_LIMITS, type ExportPlan } from "./export";
