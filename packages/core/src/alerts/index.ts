export * from "./alert";
export * from "./ports";
export * from "./check";
export * from "./channels";
