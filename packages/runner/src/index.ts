export { StageRunner, type StageRunnerOptions } from "./stage-runner";
