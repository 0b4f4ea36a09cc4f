export { StageRunner, type StageRunnerOptions } from "./stage-runner";
export { IdleGate, type IdleGateOptions } from "./idle-gate";
export { BacklogDiverter, type BacklogDiverterOptions } from "./backlog-diverter";
export { TenantShares, type TenantSharesOptions } from "./tenant-shares";
export { ParseThread, type ParseThreadOptions } from "./parse-thread";
