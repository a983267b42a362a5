/** Errors are values with a code, the path involved and what the operator should do. */
export type CollectorErrorCode =
  | 'EACCES'
  | 'ENOSPC'
  | 'EIO'
  | 'EROFS'
  | 'EFBIG'
  | 'LOCK_HELD'
  | 'LOCK_LOST'
  | 'STATE_VERSION'
  | 'STATE_INVALID'
  | 'CONFIG_INVALID'
  | 'NOT_A_DIRECTORY'
  | 'INVALID_RECORD'
  | 'BAD_PLY'
  | 'NOT_FOUND'
  | 'FILE_CHANGED'
  | 'USAGE'
  | 'UNKNOWN';

export class CollectorError extends Error {
  constructor(
    readonly code: CollectorErrorCode,
    message: string,
    readonly path: string | null = null,
    readonly hint: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CollectorError';
  }

  /** One line for an operator: what happened, where, and what to do. */
  describe(): string {
    return [this.message, this.path ? `(${this.path})` : '', this.hint ? `: ${this.hint}` : '']
      .filter(Boolean)
      .join(' ');
  }
}

const HINTS: Record<string, string> = {
  EACCES: 'make the data dir writable by the user that runs the collector (chown/chmod)',
  EPERM: 'make the data dir writable by the user that runs the collector (chown/chmod)',
  ENOSPC: 'free disk space (df -h), or turn off store_images / store_ply_files in the config',
  EDQUOT: 'free space within your disk quota, or turn off store_images / store_ply_files',
  EFBIG: 'the file size limit was reached (ulimit -f); raise it or rotate the data files',
  EIO: 'the disk reported an I/O error; check dmesg and the disk health',
  EROFS: 'the file system is read-only; remount it read-write or choose another --data-dir',
  ENOTDIR: 'a path component is a regular file; choose another --data-dir',
  EEXIST: 'a file is in the way; move it aside',
};

/** Wraps a Node fs error into a CollectorError that names the path and the fix. */
export function fromFsError(err: unknown, path: string, doing: string): CollectorError {
  if (err instanceof CollectorError) return err;
  const e = err as NodeJS.ErrnoException;
  const sys = e?.code ?? 'UNKNOWN';
  const code: CollectorErrorCode =
    sys === 'EACCES' || sys === 'EPERM'
      ? 'EACCES'
      : sys === 'ENOSPC' || sys === 'EDQUOT'
        ? 'ENOSPC'
        : sys === 'EIO'
          ? 'EIO'
          : sys === 'EROFS'
            ? 'EROFS'
            : sys === 'EFBIG'
              ? 'EFBIG'
              : sys === 'ENOTDIR'
                ? 'NOT_A_DIRECTORY'
                : sys === 'ENOENT'
                  ? 'NOT_FOUND'
                  : 'UNKNOWN';
  return new CollectorError(code, `${doing} failed: ${sys}`, path, HINTS[sys] ?? null, { cause: err });
}

/** True for write failures that may go away (disk full, quota, size limit, I/O): retry with back-off. */
export function isRetryableWriteError(err: unknown): boolean {
  const code = err instanceof CollectorError ? err.code : (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EFBIG' || code === 'LOCK_HELD';
}
