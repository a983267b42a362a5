/** The few fs calls the sources need, as promises on raw fds (no FileHandle: cheaper, no GC close). */
import * as fs from 'node:fs';

/** Reads up to `length` bytes at `position`: into `into` when given (a reader that reuses its buffers), else a fresh buffer. */
export function pread(fd: number, position: number, length: number, into?: Buffer): Promise<Buffer> {
  const buf = into ?? Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n === length ? buf : buf.subarray(0, n))));
  });
}

/** Reads exactly `length` bytes at `position` unless the file ends first. */
export async function preadFully(fd: number, position: number, length: number): Promise<Buffer> {
  const first = await pread(fd, position, length);
  if (first.length === length || first.length === 0) return first;
  const parts = [first];
  let got = first.length;
  while (got < length) {
    const more = await pread(fd, position + got, length - got);
    if (more.length === 0) break;
    parts.push(more);
    got += more.length;
  }
  return Buffer.concat(parts, got);
}

export function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** stat, with null for a file that does not exist (waited for, not an error). */
export async function statOrNull(path: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(path);
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

/** What a log path is when it is not a regular file. */
function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * Opens a log for reading, or null when it does not exist. Never blocks (a FIFO would hold the open
 * until a writer came), never follows a symlink (a link that appears at a log's name later must not
 * copy its target into the data: a configured link is resolved once, at start), and refuses anything
 * but a regular file, with an error that says what it is.
 */
export function openOrNull(path: string): Promise<number | null> {
  return new Promise((resolve, reject) =>
    fs.open(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW, (err, fd) => {
      if (err && (err.code === 'ELOOP' || err.code === 'EMLINK'))
        return reject(Object.assign(new Error(`${path} is a symlink now: it is not followed (a link configured as a log is resolved once, at start)`), { code: 'ESYMLINK' }));
      if (err) return isGone(err) ? resolve(null) : reject(err);
      fs.fstat(fd, (e, st) => {
        if (!e && st.isFile()) return resolve(fd);
        closeQuietly(fd);
        reject(e ?? Object.assign(new Error(`${path} is ${kindOf(st)}: only regular files are read`), { code: 'ENOTREGULAR' }));
      });
    }),
  );
}

export function closeQuietly(fd: number): void {
  fs.close(fd, () => {});
}

/**
 * A log path as configured: when it is a symlink now, the file it points at (followed from then on by
 * that name); otherwise the path itself. Resolved once, at start: a link that appears later is refused.
 */
export function resolveConfiguredLink(path: string): string {
  try {
    return fs.lstatSync(path).isSymbolicLink() ? fs.realpathSync(path) : path;
  } catch {
    return path; // missing (waited for), or a dangling link: refused when opened
  }
}
