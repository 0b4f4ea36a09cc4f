export { answerApi, apiMethodError, API_METHODS, handleApi, logglyEvent, parseInterval, type ApiRequest, type ApiResponse, type ApiDeps } from "./routes";
export { apiErrorAnswer, apiErrorOf } from "./errors";
export * from "./usage";
