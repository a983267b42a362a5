/**
 * What the assemble stage takes in: the parser's log events, and the complete files of the workers'
 * output directories. Sources produce these shapes; assemble imports nothing from `sources/` or
 * `pipeline/`.
 */
export type { LogEvent, FieldValue } from '../parse';

/** A complete file of a worker's output directory (the output-dir source hands these on). */
export interface OutputFile {
  /** The watched directory (absolute). */
  dir: string;
  /** The worker group the directory belongs to. */
  group: string;
  /** Path relative to `dir` (`/`-separated). */
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** Event time: the name pattern's `unix_s` / `unix_ms` group when it has one, else the mtime. */
  timeMs: number;
}

/**
 * How far a file's mtime may lag the clock processes read: the kernel stamps mtimes from a coarse
 * clock, up to a tick behind (one tick at HZ 100). A file written 1 ms after a line can carry an mtime
 * 3 ms before it.
 */
export const MTIME_TICK_MS = 10;

/** The latest time a file can have been written at (a name's own time is taken as it says). */
export const latestWriteMs = (f: OutputFile): number => (f.timeMs === f.mtimeMs ? f.mtimeMs + MTIME_TICK_MS : f.timeMs);

/** Error types that say the generation itself failed (not its submission, validation or the miner). */
export const GENERATION_FAILURE_TYPES: ReadonlySet<string | null> = new Set([
  'generation_http_error',
  'endpoint_unreachable',
  'endpoint_timeout',
  'client_error',
  'exception',
  'pre_submission_rejection',
]);

/** The miner's lines that end a generation (completed, or failed in one of several ways). */
export const GENERATION_END_EVENTS: ReadonlySet<string> = new Set([
  'generation_completed',
  'generation_failed',
  'endpoint_unreachable',
  'endpoint_timeout',
  'client_error',
  'exception',
]);
