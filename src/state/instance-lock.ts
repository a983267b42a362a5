/**
 * One collector per data dir (ARCHITECTURE.md, "Locks"). Our own lock, not proper-lockfile: its
 * staleness is an mtime age (>= 2 s), and a PM2 restart after SIGKILL must take over at once. Here a
 * lock is stale exactly when its holder process is gone, which /proc tells us right away.
 *
 * Protocol (all in `<dataDir>/state/`):
 * - `collector.lock` is created with its full content by hard-linking a fsynced tmp file onto the name:
 *   link fails with EEXIST when the lock exists, and the lock is never seen empty or half written.
 * - A stale lock (dead holder, token T) is removed only by whoever holds the marker
 *   `collector.lock.evict.<T>` (also created by link, so exactly one newcomer holds it). The marker
 *   holder re-reads the lock and unlinks it only if it still has token T. No one else can remove a
 *   lock with token T meanwhile, so the check and the unlink cannot be split by a racer, and a live
 *   lock is never touched. A marker left by a killed newcomer is itself removed the same way.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { type Clock, systemClock } from '../common/clock';
import { CollectorError, fromFsError } from '../common/errors';
import { FILE_MODE, ensureDir, fsyncDir, processExists, removeDeadWritersTmp, writeFully } from '../common/fsx';
import { bootId, readProcStat } from './process-info';
import { stateDirPath } from './state-file';

export const LOCK_FILE_NAME = 'collector.lock';

export function lockFilePath(dataDir: string): string {
  return path.join(stateDirPath(dataDir), LOCK_FILE_NAME);
}

/** What a lock (or a takeover marker) says about the process that wrote it. */
export const LockHolderSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  started_at: z.iso.datetime(),
  /** /proc/<pid>/stat field 22 when written; another value later means the pid was reused. */
  proc_start_ticks: z.number().int().nonnegative().nullable(),
  boot_id: z.string().nullable(),
  /** Unique per lock file; it names the takeover marker, so keep it file-name safe. */
  token: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
});
export type LockHolder = z.infer<typeof LockHolderSchema>;

export interface Liveness {
  alive: boolean;
  /** False when the holder is on another host: `alive` is then an assumption. */
  checkable: boolean;
  reason: string;
}

export interface InstanceLock {
  readonly holder: LockHolder;
  readonly path: string;
  /** Throws LOCK_LOST unless the lock file still names this holder. Cheap: one small read. */
  verify(): void;
  /** Removes the lock if it is still ours; safe to call twice. */
  release(): void;
}

const MAX_ATTEMPTS = 20;
const MAX_EVICT_DEPTH = 4;
const LIVE_MARKER_WAIT_MS = 2000;

export function acquireInstanceLock(dataDir: string, options: { clock?: Clock } = {}): InstanceLock {
  const dir = stateDirPath(dataDir);
  const file = lockFilePath(dataDir);
  ensureDir(dir);
  const holder = makeHolder(options.clock ?? systemClock);
  const content = serialize(holder);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(file, content)) {
      fsyncDir(dir);
      sweepLeftovers(dir);
      return heldLock(file, holder, content);
    }
    const raw = readRaw(file);
    if (raw === null) continue; // released between our link and our read
    const other = parseHolder(raw);
    const liveness = judgeRaw(raw);
    if (liveness.alive) throw heldError(dataDir, file, other, liveness);
    evict(file, tokenOf(raw), 0);
  }
  throw new CollectorError(
    'LOCK_HELD',
    `could not take the lock of data dir ${dataDir} after ${MAX_ATTEMPTS} tries: other instances keep taking it`,
    file,
    'make sure only one data-collector is started for this data dir (pm2 list)',
  );
}

/** For `status`/`doctor`: who holds the lock and whether that process is alive; null when unlocked. */
export function readInstanceLock(dataDir: string): { holder: LockHolder | null; alive: boolean; checkable: boolean; reason: string } | null {
  const raw = readRaw(lockFilePath(dataDir));
  if (raw === null) return null;
  return { holder: parseHolder(raw), ...judgeRaw(raw) };
}

/** Decides whether the process a lock names is still the one that wrote it. */
export function judgeHolder(h: LockHolder): Liveness {
  const dead = (reason: string): Liveness => ({ alive: false, checkable: true, reason });
  if (h.host !== os.hostname()) {
    return { alive: true, checkable: false, reason: `held from host ${h.host}, whose processes cannot be checked from ${os.hostname()}` };
  }
  const boot = bootId();
  if (h.boot_id !== null && boot !== null && h.boot_id !== boot) return dead('the machine has rebooted since');
  if (!processExists(h.pid)) return dead(`process ${h.pid} is gone`);
  const stat = readProcStat(h.pid);
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return dead(`process ${h.pid} has exited (zombie)`);
  if (stat && h.proc_start_ticks !== null && stat.startTicks !== h.proc_start_ticks) {
    return dead(`pid ${h.pid} now belongs to another process (its start time differs)`);
  }
  return { alive: true, checkable: true, reason: `process ${h.pid} is running` };
}

function judgeRaw(raw: Buffer): Liveness {
  const h = parseHolder(raw);
  // Our files are never seen partly written, so unreadable content cannot belong to a live holder.
  return h ? judgeHolder(h) : { alive: false, checkable: true, reason: 'the lock file is not readable as a lock' };
}

function heldError(dataDir: string, file: string, other: LockHolder | null, liveness: Liveness): CollectorError {
  const who = other ? `data-collector pid ${other.pid} on host ${other.host} since ${other.started_at}` : 'another data-collector';
  if (!liveness.checkable) {
    return new CollectorError(
      'LOCK_HELD',
      `data dir ${dataDir} is in use by ${who}; ${liveness.reason}`,
      file,
      `stop that collector on ${other?.host ?? 'its host'} (pm2 stop data-collector), or, if it is certainly not running, delete ${file}; or use another --data-dir`,
    );
  }
  return new CollectorError(
    'LOCK_HELD',
    `data dir ${dataDir} is in use by ${who}`,
    file,
    'stop it first (pm2 stop data-collector) or use another --data-dir',
  );
}

function heldLock(file: string, holder: LockHolder, content: Buffer): InstanceLock {
  let released = false;
  return {
    holder,
    path: file,
    verify(): void {
      const raw = released ? null : readRaw(file);
      if (raw !== null && raw.equals(content)) return;
      const now = raw === null ? 'is missing' : `names ${describeRaw(raw)}`;
      throw new CollectorError(
        'LOCK_LOST',
        `this collector (pid ${holder.pid}) no longer holds the instance lock: the lock file ${now}`,
        file,
        'stopping so that two collectors never write the same data dir; check `pm2 list` for a second collector, then restart this one',
      );
    },
    release(): void {
      if (released) return;
      released = true;
      const raw = readRaw(file);
      // Only the holder removes its own lock, and no one evicts a live holder: read-then-unlink is safe.
      if (raw === null || !raw.equals(content)) return;
      try {
        fs.unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, file, 'releasing the instance lock');
      }
      fsyncDir(path.dirname(file));
    },
  };
}

/** Removes `file` if it still has `token`, holding the evict marker for that token meanwhile. */
function evict(file: string, token: string, depth: number): void {
  const marker = `${path.join(path.dirname(file), LOCK_FILE_NAME)}.evict.${token}`;
  if (depth > MAX_EVICT_DEPTH) {
    throw new CollectorError(
      'LOCK_HELD',
      'could not take over a stale instance lock: too many takeover markers left by killed collectors',
      marker,
      `stop every data-collector for this data dir, delete ${path.dirname(file)}/${LOCK_FILE_NAME}*, and start one`,
    );
  }
  const mine = serialize(makeHolder(systemClock));
  const deadline = Date.now() + LIVE_MARKER_WAIT_MS;
  while (!createExclusive(marker, mine)) {
    const raw = readRaw(marker);
    if (raw === null) continue;
    const liveness = judgeRaw(raw);
    if (!liveness.alive) {
      evict(marker, tokenOf(raw), depth + 1); // a newcomer died while taking over
      continue;
    }
    // A live newcomer is taking over right now; it needs microseconds.
    if (Date.now() > deadline) {
      throw new CollectorError('LOCK_HELD', `another data-collector (${describeRaw(raw)}) is taking over the instance lock`, marker, 'stop the other collector, or try again');
    }
    sleepMs(1);
  }
  try {
    const raw = readRaw(file);
    if (raw !== null && tokenOf(raw) === token) unlinkIfThere(file);
  } finally {
    unlinkIfThere(marker);
  }
}

/** Creates `target` with `content` unless it exists; never visible empty or half written. */
function createExclusive(target: string, content: Buffer): boolean {
  const tmp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', FILE_MODE);
    writeFully(fd, content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.linkSync(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      throw new CollectorError(
        'UNKNOWN',
        `creating the instance lock failed: ${code} (the file system may not support hard links)`,
        target,
        'put the data dir on a local file system (ext4, xfs, btrfs) and make it writable by the collector user',
        { cause: err },
      );
    }
    throw fromFsError(err, target, 'creating the instance lock');
  } finally {
    if (fd !== null) fs.closeSync(fd);
    unlinkIfThere(tmp);
  }
}

/** After we hold the lock: tidy tmp files and markers whose writers are gone (harmless, but clutter). */
function sweepLeftovers(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  removeDeadWritersTmp(dir, `${LOCK_FILE_NAME}.`);
  for (const name of names) {
    const full = path.join(dir, name);
    if (name.startsWith(`${LOCK_FILE_NAME}.evict.`) && !name.endsWith('.tmp')) {
      // Every marker names a lock or marker that no longer exists, so a dead writer's marker can go.
      const raw = readRaw(full);
      if (raw !== null && !judgeRaw(raw).alive) unlinkIfThere(full);
    }
  }
}

function makeHolder(clock: Clock): LockHolder {
  return {
    pid: process.pid,
    host: os.hostname(),
    started_at: new Date(clock.now()).toISOString(),
    proc_start_ticks: readProcStat(process.pid)?.startTicks ?? null,
    boot_id: bootId(),
    token: randomUUID(),
  };
}

function serialize(h: LockHolder): Buffer {
  return Buffer.from(JSON.stringify(h) + '\n');
}

function parseHolder(raw: Buffer): LockHolder | null {
  try {
    const parsed = LockHolderSchema.safeParse(JSON.parse(raw.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The token that identifies this file's content; unreadable content gets one from its hash. */
function tokenOf(raw: Buffer): string {
  return parseHolder(raw)?.token ?? `corrupt-${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
}

function describeRaw(raw: Buffer): string {
  const h = parseHolder(raw);
  return h ? `pid ${h.pid} on host ${h.host} since ${h.started_at}` : 'unreadable content';
}

function readRaw(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fromFsError(err, file, 'reading the instance lock');
  }
}

function unlinkIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, file, 'removing a lock file');
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
