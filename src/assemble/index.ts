/** The assemble stage: merged events -> finished generation records (no I/O). */
export { EventMerger, type Lateness, type Timed } from './merge';
// './tracker/index', not './tracker': a dist/ built before the split still holds tracker.js, which require() takes first.
export {
  Tracker,
  DEFAULT_TRACKER_OPTIONS,
  TrackerSnapshotSchema,
  type TrackerOptions,
  type TrackerSnapshot,
  type TrackerCounters,
  type FinishedRecord,
  type StoreImage,
} from './tracker/index';
export { GENERATION_END_EVENTS, GENERATION_FAILURE_TYPES, latestWriteMs, type OutputFile } from './events';
export { analysePrompt, createHashers, promptKey, textLogId, taskTypeOfLogId, type Hashers, type Prompt } from './prompt';
export { applyPlyResult, applyPlySize, type LinkedPly } from './ply-output';
export { COMPETITION_GROUP, CompetitionBook, type CompetitionOptions, type OutputMeasure } from './competition';
