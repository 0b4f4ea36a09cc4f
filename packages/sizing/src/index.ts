export * from "./workload";
export * from "./size";
export * from "./prices";
export * from "./cost";
