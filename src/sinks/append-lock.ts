/**
 * The append lock: proper-lockfile on a data file, held for one batch (or one rotation step) so
 * writers from several processes (the daemon, `ingest`, `rotate`) take turns. The lock directory
 * lives under state/locks/, not beside the data, so backups and `ls data/` stay clean.
 */
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { CollectorError } from '../common/errors';
import { ensureDir } from '../common/fsx';

export interface AppendLockOptions {
  /** A lock not refreshed for this long belongs to a dead process (proper-lockfile: minimum 2000). */
  staleMs?: number;
  /** How long to wait for a live holder before giving up. */
  waitMs?: number;
}

export interface HeldLock {
  /** Set when another process took the lock from us (we stalled past `staleMs`). */
  readonly compromised: boolean;
  release(): Promise<void>;
}

export function lockPathFor(dataDir: string, file: string): string {
  return path.join(dataDir, 'state', 'locks', `${path.relative(dataDir, file).split(path.sep).join('__')}.lock`);
}

export async function acquireAppendLock(dataDir: string, file: string, opts: AppendLockOptions = {}): Promise<HeldLock> {
  const lockfilePath = lockPathFor(dataDir, file);
  ensureDir(path.dirname(lockfilePath));
  const stale = Math.max(opts.staleMs ?? 5000, 2000);
  const waitMs = opts.waitMs ?? stale * 3;
  const state = { compromised: false };
  let release: () => Promise<void>;
  try {
    release = await lockRetryingWhileHeld(file, waitMs, {
      realpath: false,
      lockfilePath,
      stale,
      update: Math.max(1000, Math.floor(stale / 4)),
      onCompromised: () => {
        state.compromised = true;
      },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOCKED')
      throw new CollectorError(
        'LOCK_HELD',
        `another writer has held the append lock for over ${waitMs} ms`,
        lockfilePath,
        'another data-collector process is writing to this data dir; retry later',
        { cause: err },
      );
    throw err;
  }
  return {
    get compromised() {
      return state.compromised;
    },
    release: async () => {
      try {
        await release();
      } catch (err) {
        // Released already because it was compromised: nothing of ours to remove.
        if ((err as NodeJS.ErrnoException).code !== 'ERELEASED' && !state.compromised) throw err;
      }
    },
  };
}

/**
 * proper-lockfile's own retries retry every error: on a read-only or full disk the append froze for
 * the whole wait (30 s) before anyone heard of it. Only a lock another writer holds is waited for
 * (5 ms growing to 50 ms between tries); any other error is thrown at once.
 */
async function lockRetryingWhileHeld(file: string, waitMs: number, options: lockfile.LockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (let pause = 5; ; pause = Math.min(50, Math.ceil(pause * 1.2))) {
    try {
      return await lockfile.lock(file, { ...options, retries: 0 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED' || Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}
