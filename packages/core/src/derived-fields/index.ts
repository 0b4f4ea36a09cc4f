export * from "./derived-rule";
export * from "./apply";
export * from "./rule-source";
