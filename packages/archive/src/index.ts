export { DirectoryStore, S3Store, MIN_PART_BYTES, type ArchiveStore, type PartUpload } from "./stores";
export { archiveDay, inProcessWorker, previousDay, type ArchiveOptions, type ArchiveProgress, type LocalWorkerOptions } from "./daily-archive";
export { archivePiece, type PieceManifest, type PieceOptions, type PieceRequest, type PieceResult } from "./piece";
export { runArchive, type PlannerOptions, type RunReport } from "./planner";
export { rebuildDayManifest } from "./day-manifest";
export { Lease, LeaseHeldError, readCheckpoint, readStatus, type Checkpoint } from "./state";
export { checkpointKey, pieceId, pieceManifestKey, pieceObjectKey, piecesPrefix, LEASE_KEY } from "./keys";
export { replay, type ReplayOptions, type ReplayResult } from "./replay";
