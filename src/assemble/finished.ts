/** What the assemble stage hands to the sinks: a record, and the output file it was linked to. */
import type { GenerationRecord } from '../schema';
import type { LinkedPly } from './ply-output';

export interface FinishedRecord {
  record: GenerationRecord;
  /** Ids of records this one replaces if they were written (a feedback-only record of the same task). */
  supersedesIfPresent: string[];
  /** The output file linked to the generation (kept once accepted; measured then if it was not yet). */
  ply: LinkedPly | null;
}
