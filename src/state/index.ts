/** The state folder's interface: the versioned state file and the instance lock. */
export {
  STATE_VERSION,
  MIGRATIONS,
  CollectorStateSchema,
  PendingBlobSchema,
  OutputDirMarkSchema,
  IdentitySchema,
  QuarantineEntrySchema,
  HealthSchema,
  emptyHealth,
  emptyState,
  loadState,
  saveState,
  stateDirPath,
  stateFilePath,
} from './state-file';
export type { CollectorState, PendingBlob, OutputDirMark, Identity, QuarantineEntry, Health, Migration, StateOptions } from './state-file';
export { acquireInstanceLock, readInstanceLock, judgeHolder, lockFilePath, LockHolderSchema } from './instance-lock';
export type { InstanceLock, LockHolder, Liveness } from './instance-lock';
