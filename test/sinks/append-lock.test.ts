/**
 * The append lock waits only for another writer; any other failure (a read-only or broken lock
 * directory) is reported at once, never after the whole wait (issue 15, item 7: a read-only data
 * dir froze the daemon 30 s per attempt without a log line).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireAppendLock, lockPathFor } from '../../src/sinks/append-lock';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-append-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a lock path that cannot be a lock (a stale regular file there): the error at once, not after the wait', async () => {
  const file = path.join(dir, 'generation_history.jsonl');
  const lockPath = lockPathFor(dir, file);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  fs.writeFileSync(lockPath, 'not a lock directory');
  const old = new Date(Date.now() - 3_600_000);
  fs.utimesSync(lockPath, old, old);
  const t0 = Date.now();
  await expect(acquireAppendLock(dir, file, { waitMs: 10_000 })).rejects.toMatchObject({ code: 'ENOTDIR' });
  expect(Date.now() - t0).toBeLessThan(2000);
});

test('a lock another writer holds is waited for, then named', async () => {
  const file = path.join(dir, 'generation_history.jsonl');
  const held = await acquireAppendLock(dir, file);
  try {
    const t0 = Date.now();
    await expect(acquireAppendLock(dir, file, { waitMs: 600 })).rejects.toMatchObject({ code: 'LOCK_HELD' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  } finally {
    await held.release();
  }
  const again = await acquireAppendLock(dir, file, { waitMs: 600 });
  await again.release();
});
