export * from "./alert";
export * from "./ports";
export * from "./check";
