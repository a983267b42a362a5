/**
 * sources/: files in, complete lines with byte offsets out. Follow a PM2 log by name (rotation,
 * copy-truncate, flush, re-create), commit checkpoints, or read a finished (possibly gzipped) file once;
 * and a worker output directory's complete new files.
 */
export { CheckpointSchema, FileIdentitySchema, OutputDirMarkSchema, type Checkpoint, type FileIdentity, type OutputDirMark } from './checkpoint';
export { resolveConfiguredLink } from './file-reader';
export { Follower, type FollowerOptions } from './follower';
export { readFileLines, type OneShotOptions } from './one-shot';
export { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter';
export { DEFAULT_FINGERPRINT_BYTES } from './identity';
export { DirWatcher, DEFAULT_STAT_INTERVAL_MS, type WakeSource } from './watcher';
export { rotatedSiblings, isRotatedName } from './siblings';
export { emptyStats, silentLogger, type Batch, type Line, type SourceRef, type SourceLogger, type SourceStats, type SkippedLine } from './types';
export {
  OutputDirWatcher,
  OutputMark,
  scanOutputDir,
  matchOutputName,
  ORDER_SLACK_MS,
  type OutputFile,
  type OutputDirSpec,
  type OutputReadOptions,
} from './output-dir';
