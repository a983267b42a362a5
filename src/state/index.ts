/** The state folder's interface: a versioned atomic document and the instance lock (what the document holds: pipeline/state-shape.ts). */
export { loadDocument, moveAside, saveDocument, stateDirPath, stateFilePath } from './state-file';
export type { DocumentSpec, Migration } from './state-file';
export { acquireInstanceLock, readInstanceLock, judgeHolder, lockFilePath, LockHolderSchema } from './instance-lock';
export type { InstanceLock, LockHolder, Liveness } from './instance-lock';
