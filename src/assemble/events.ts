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
