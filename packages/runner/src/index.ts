export { StageRunner, type StageRunnerOptions } from "./stage-runner";
export { IdleGate, type IdleGateOptions } from "./idle-gate";
