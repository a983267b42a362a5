/**
 * A file's identity: device + inode, plus a SHA-256 of its first bytes so that an inode reused by a
 * new file (or a file truncated and rewritten) is not taken for the one we were reading.
 */
import { createHash } from 'node:crypto';
import type * as fs from 'node:fs';
import type { FileIdentity } from './checkpoint';
import { preadFully } from './file-reader';

export const DEFAULT_FINGERPRINT_BYTES = 256;

export function fingerprintOf(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

/** Identity of the open file `fd` (with `st` its fstat): the fingerprint covers min(want, size) bytes. */
export async function identityOf(fd: number, st: fs.Stats, want: number = DEFAULT_FINGERPRINT_BYTES): Promise<FileIdentity> {
  const head = await preadFully(fd, 0, Math.min(want, st.size));
  return { dev: st.dev, ino: st.ino, fingerprint: fingerprintOf(head), fingerprintBytes: head.length };
}

export function sameInode(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** True when the first `id.fingerprintBytes` bytes of `fd` still hash to `id.fingerprint`. */
export async function fingerprintMatches(fd: number, id: FileIdentity): Promise<boolean> {
  if (id.fingerprintBytes === 0) return true;
  const head = await preadFully(fd, 0, id.fingerprintBytes);
  return head.length === id.fingerprintBytes && fingerprintOf(head) === id.fingerprint;
}
