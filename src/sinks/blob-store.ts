/**
 * Content-addressed blobs: input images as `images/<sha256>.<ext>` and kept PLY files as
 * `ply_files/<generation id>_<sha256>.ply`. Names come only from hashes and ids, never from log
 * text, so nothing is written outside the data dir. Each blob is written to `*.tmp`, fsynced and
 * renamed, so a reader (or a backup) never sees half a file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CollectorError, fromFsError } from '../common/errors';
import { ensureDir, fsyncDir, removeDeadWritersTmp, sha256OfFile, writeFully, FILE_MODE } from '../common/fsx';
import { imageExtension } from '../common/image-type';

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoredBlob {
  /** Path relative to the data dir, as records carry it. */
  relativePath: string;
  sha256: string;
  bytes: number;
  /** False when an identical blob was already there. */
  created: boolean;
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class BlobStore {
  constructor(private readonly dataDir: string) {
    // a writer killed mid-copy leaves its .tmp behind
    for (const kind of ['images', 'ply_files']) removeDeadWritersTmp(path.join(dataDir, kind));
  }

  /** Stores decoded image bytes; the extension comes from the magic bytes (`.bin` when unknown). */
  putImage(bytes: Buffer): StoredBlob {
    const sha256 = sha256Hex(bytes);
    const rel = path.join('images', `${sha256}.${imageExtension(bytes)}`);
    return { relativePath: rel, sha256, bytes: bytes.length, created: this.writeOnce(rel, bytes) };
  }

  /**
   * Copies a PLY file into `ply_files/` (copy-on-write where the file system can; never a hard link,
   * since a worker may rewrite its file in place) and verifies the copy's hash.
   */
  async putPly(generationId: string, sourceFile: string, expectedSha256: string): Promise<StoredBlob> {
    if (!UUID.test(generationId) || !HEX64.test(expectedSha256))
      throw new CollectorError('INVALID_RECORD', 'a PLY blob needs a generation id and a sha256', sourceFile);
    const rel = path.join('ply_files', `${generationId}_${expectedSha256}.ply`);
    const target = path.join(this.dataDir, rel);
    let bytes: number;
    try {
      bytes = fs.statSync(sourceFile).size;
    } catch (err) {
      throw fromFsError(err, sourceFile, 'reading the PLY');
    }
    if (this.existsWithSize(target, bytes)) return { relativePath: rel, sha256: expectedSha256, bytes, created: false };
    ensureDir(path.dirname(target));
    const tmp = this.tmpName(target);
    try {
      fs.copyFileSync(sourceFile, tmp, fs.constants.COPYFILE_FICLONE);
      fs.chmodSync(tmp, FILE_MODE);
      const actual = await sha256OfFile(tmp);
      if (actual !== expectedSha256)
        throw new CollectorError(
          'FILE_CHANGED',
          `the PLY changed while it was copied (sha256 ${actual}, expected ${expectedSha256})`,
          sourceFile,
          'the worker rewrote the file; it is measured again at its next change',
        );
      const fd = fs.openSync(tmp, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw fromFsError(err, target, 'storing a PLY file');
    }
    fsyncDir(path.dirname(target));
    return { relativePath: rel, sha256: expectedSha256, bytes, created: true };
  }

  private existsWithSize(file: string, size: number): boolean {
    try {
      return fs.statSync(file).size === size;
    } catch {
      return false;
    }
  }

  private tmpName(target: string): string {
    return `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  }

  /** Writes `rel` unless a blob of the same size is there (same name = same content). */
  private writeOnce(rel: string, data: Buffer): boolean {
    const target = path.join(this.dataDir, rel);
    if (this.existsWithSize(target, data.length)) return false;
    ensureDir(path.dirname(target));
    const tmp = this.tmpName(target);
    let fd: number | null = null;
    try {
      fd = fs.openSync(tmp, 'wx', FILE_MODE);
      writeFully(fd, data);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = null;
      fs.renameSync(tmp, target);
    } catch (err) {
      if (fd !== null) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw fromFsError(err, target, 'storing a blob');
    }
    fsyncDir(path.dirname(target));
    return true;
  }
}
