export * from "./records";
export * from "./saved-search";
