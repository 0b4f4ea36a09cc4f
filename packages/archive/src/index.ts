export { DirectoryStore, S3Store } from "./stores";
export { archiveDay, previousDay, type ArchiveOptions, type ArchiveProgress } from "./daily-archive";
export { replay, type ReplayOptions, type ReplayResult } from "./replay";
