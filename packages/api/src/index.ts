export { handleApi, logglyEvent, parseInterval, type ApiRequest, type ApiResponse, type ApiDeps } from "./routes";
export * from "./usage";
