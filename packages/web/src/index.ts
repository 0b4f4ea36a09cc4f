// The UI's pure helpers (the app itself starts at main.tsx).
export { addClause, fieldClause, quoteValue } from "./query";
export { DEFAULT_ROUTE, formatHash, parseHash, PAGES, type Page, type RouteState } from "./route";
export { describeRange, fillBuckets, fromLocalInput, presetOf, PRESETS, resolveTime, toLocalInput, type Bucket } from "./time";
export { eventFields, summary, type ApiEvent } from "./fields";
export { setupSnippets, type SetupTarget, type Snippet } from "./setup-snippets";
