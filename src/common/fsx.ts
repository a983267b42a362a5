/** Durable file-system steps shared by the store, the state file and the blob store. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromFsError } from './errors';

export const FILE_MODE = 0o640;
export const DIR_MODE = 0o750;

export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw fromFsError(err, dir, 'creating a directory');
  }
}

/** fsync a directory so a rename or create inside it survives a power loss. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename is still atomic.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EBADF') throw fromFsError(err, dir, 'syncing a directory');
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Writes all of `data` at the fd's position (or `position`), looping over short writes. */
export function writeFully(fd: number, data: Buffer, position: number | null = null): void {
  let off = 0;
  while (off < data.length) {
    const n = fs.writeSync(fd, data, off, data.length - off, position === null ? null : position + off);
    off += n;
  }
}

/**
 * Replaces `file` with `data` atomically: write `<file>.<pid>.tmp`, fsync, rename, fsync the dir.
 * A crash at any point leaves either the old file or the new one, never a mix.
 */
export function atomicWriteFile(file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.tmp`;
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w', FILE_MODE);
    writeFully(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw fromFsError(err, file, 'writing');
  }
  fsyncDir(dir);
}

/** True while a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the `<prefix>….<pid>[.<hex>].tmp` files of `dir` whose writer is gone: a writer killed
 * mid-write leaves one, which no reader looks at (and backups exclude), but it takes space.
 */
export function removeDeadWritersTmp(dir: string, prefix = ''): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /\.(\d+)(?:\.[0-9a-f]+)?\.tmp$/.exec(name) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processExists(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
    } catch {
      /* already gone */
    }
  }
}

/** SHA-256 (hex) of a file's bytes, streamed in 1 MiB chunks. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The same, synchronously, for a caller that cannot wait (a line visitor); throws as fs does. */
export function sha256OfFileSync(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
