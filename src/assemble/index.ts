/** The assemble stage: merged events -> finished generation records (no I/O). */
export { EventMerger, type Timed } from './merge';
export {
  Tracker,
  DEFAULT_TRACKER_OPTIONS,
  type TrackerOptions,
  type TrackerSnapshot,
  type TrackerCounters,
  type FinishedRecord,
  type StoreImage,
} from './tracker';
export { analysePrompt, createHashers, promptKey, textLogId, taskTypeOfLogId, type Hashers, type Prompt } from './prompt';
export { applyPlyResult, applyPlySize, type LinkedPly } from './ply-output';
