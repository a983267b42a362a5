/**
 * Appending finished records and miner events for the daemon. A failed write keeps nothing half
 * done (the store cuts back), so the caller puts the batch back and the writer waits, backing off
 * from 0.5 s to 30 s; it says so at the first failure, with the fix when the cause has one, and again
 * as the back-off grows; and once when writing works again.
 */
import type { FinishedRecord } from '../assemble';
import type { Clock } from '../common/clock';
import { isRetryableWriteError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { MinerEvent } from '../schema';
import { appendFinished, type Outputs } from './wiring';

export interface Written {
  records: number;
  duplicates: number;
  minerEvents: number;
}

export class RecordWriter {
  private failures = 0;
  private retryAtMs = 0;

  constructor(
    private readonly out: Outputs,
    private readonly dataDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A failed write waits for its back-off: reading and committing wait with it. */
  get waiting(): boolean {
    return this.retryAtMs > this.clock.now();
  }

  /** A retry is scheduled (the loop comes back soon for it). */
  get pending(): boolean {
    return this.retryAtMs > 0;
  }

  /** Writes both batches; null when it failed (nothing of it is written: the caller puts it back). */
  async write(records: FinishedRecord[], events: MinerEvent[]): Promise<Written | null> {
    const done: Written = { records: 0, duplicates: 0, minerEvents: 0 };
    try {
      if (records.length) {
        const r = await appendFinished(this.out, records);
        done.records = r.written;
        done.duplicates = r.duplicates;
      }
      if (events.length) done.minerEvents = (await this.out.minerEvents.append(events)).written;
    } catch (err) {
      this.failed(err);
      return null;
    }
    if (this.failures) this.logger.info({ after: this.failures }, 'writing works again');
    this.failures = 0;
    this.retryAtMs = 0;
    return done;
  }

  private failed(err: unknown): void {
    this.failures++;
    const delay = Math.min(30000, 250 * 2 ** Math.min(this.failures, 7));
    this.retryAtMs = this.clock.now() + delay;
    const code = (err as NodeJS.ErrnoException).code;
    const fix = writeFailureFix(code, this.dataDir);
    // said at the first failure and then as the back-off grows (2nd, 4th, 8th ...), never silently
    if ((this.failures & (this.failures - 1)) === 0)
      this.logger[isRetryableWriteError(err) ? 'warn' : 'error'](
        { error: (err as Error).message, code, retryInMs: delay, failures: this.failures, ...(fix ? { fix } : {}) },
        `records not written yet; retrying in ${Math.round(delay / 1000)} s${fix ? `: ${fix}` : ''}`,
      );
  }
}

/** What an operator does about a write failure, for the causes that have a fix. */
export function writeFailureFix(code: string | undefined, dataDir: string): string | undefined {
  if (code === 'EROFS') return `the data dir's file system is read-only: remount it read-write, or point dataDir at a writable place (${dataDir})`;
  if (code === 'EACCES' || code === 'EPERM') return `the collector's user may not write the data dir: chown -R it to that user (${dataDir})`;
  if (code === 'ENOSPC') return 'the disk is full: free space (data-collector rotate --prune-older-than MONTHS, or set store_ply_files / store_images to false)';
  return undefined;
}
