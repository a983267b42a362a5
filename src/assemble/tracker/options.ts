/** What a tracker is built with: its settings, and the sink its images go out through. */
import type { CompetitionOptions } from '../competition';

export interface TrackerOptions {
  minerApp: string;
  host: string;
  collectorVersion: string;
  minerVersion: string | null;
  /** Settings in force, copied into each record's miner_config. */
  minerConfig: Record<string, string | number | boolean | null>;
  /** Endpoint URL -> worker group name (the config's worker groups). */
  endpoints: Record<string, string>;
  /** Validator uid -> hotkey (the miner logs hotkeys only in failure lines). */
  validatorHotkeys: Record<string, string>;
  /** A score above this is accepted (the validator scores every rejection 0). */
  acceptScoreAbove: number;
  /** No feedback this long after the generation ended: finished with received=false. */
  feedbackTimeoutMs: number;
  /** A task still receiving or generating after this long is finished as interrupted. */
  taskTimeoutMs: number;
  storeImages: boolean;
  /** Worker groups whose logs are read: a request the miner abandoned may still show up there. */
  workerGroups: string[];
  /** Worker groups whose output directory is read: their files are linked to tasks. */
  outputGroups: string[];
  /** A file finished up to this long after the generation ended still belongs to it. */
  linkAfterEndMs: number;
  /** The miner logs a generation's end at most this long after its worker answered (attribution's bound). */
  maxAnswerLagMs: number;
  /**
   * How late (event time) a worker's line may be handed on, after the miner's lines written later: the
   * daemon reads what PM2 relays (ingest's merge is exact: 0). An unnamed event's link is determined
   * only once the lines this much later have been handed on.
   */
  workerLinesLateMs: number;
  /**
   * Past this many open unnamed events, the oldest are settled by their best fit, so the search stays
   * small (10: at 4 endpoints 12 and 16 put more sizes on the wrong task, bench/README.md attribution).
   */
  maxOpenEvents: number;
  /** Competition mode: the generation service's lines and output files make generations of their own. */
  competition?: CompetitionOptions | null;
}

export const DEFAULT_TRACKER_OPTIONS: Omit<TrackerOptions, 'minerApp' | 'host' | 'collectorVersion'> = {
  minerVersion: null,
  minerConfig: {},
  endpoints: {},
  validatorHotkeys: {},
  acceptScoreAbove: 0,
  feedbackTimeoutMs: 15 * 60 * 1000,
  taskTimeoutMs: 60 * 60 * 1000,
  storeImages: true,
  workerGroups: [],
  outputGroups: [],
  linkAfterEndMs: 5000,
  maxAnswerLagMs: 10_000,
  workerLinesLateMs: 0,
  maxOpenEvents: 10,
};

/** Stores an image blob; returns its path relative to the data dir, or why it was not stored. */
export type StoreImage = (bytes: Buffer, sha256: string) => { path: string } | { skipped: 'disabled' | 'disk_low' | 'error' };
