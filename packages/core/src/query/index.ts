export * from "./ast";
export * from "./parse";
export * from "./match";
export * from "./time";
export * from "./facet-tally";
export * from "./numeric-stats";
