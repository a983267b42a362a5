import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { BlobStore } from '../../src/sinks/blob-store';

const PLY = path.resolve(__dirname, '../fixtures/ply/monkey.ply');
const ID = '6f1c2a9e-3b4d-5e6f-8a7b-9c0d1e2f3a4b';

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dc-blob-'));
}

describe('BlobStore', () => {
  it('removes the .tmp a writer killed mid-copy left behind, and no live writer\'s', () => {
    const dir = tmpDir();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout); // exited: its pid names no process (unless reused at once)
    fs.mkdirSync(path.join(dir, 'ply_files'));
    fs.mkdirSync(path.join(dir, 'images'));
    const dead = path.join(dir, 'ply_files', `${ID}_${'a'.repeat(64)}.ply.${deadPid}.0badc0de.tmp`);
    const deadImage = path.join(dir, 'images', `${'b'.repeat(64)}.png.${deadPid}.12345678.tmp`);
    const live = path.join(dir, 'ply_files', `${ID}_${'c'.repeat(64)}.ply.${process.pid}.0badc0de.tmp`);
    const kept = path.join(dir, 'ply_files', `${ID}_${'d'.repeat(64)}.ply`);
    for (const f of [dead, deadImage, live, kept]) fs.writeFileSync(f, 'x');
    new BlobStore(dir);
    expect([dead, deadImage, live, kept].map((f) => fs.existsSync(f))).toEqual([false, false, true, true]);
  });

  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(500, 7)]);
  const jpg = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.alloc(300, 1)]);
  const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(64, 2)]);
  const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(64, 3)]);
  const other = Buffer.from('not an image at all');

  it('names images by the sha256 of their bytes and the extension of their magic bytes', () => {
    const dir = tmpDir();
    const blobs = new BlobStore(dir);
    const cases: [Buffer, string][] = [
      [png, 'png'],
      [jpg, 'jpg'],
      [webp, 'webp'],
      [gif, 'gif'],
      [other, 'bin'],
    ];
    for (const [bytes, ext] of cases) {
      const b = blobs.putImage(bytes);
      expect(b.relativePath).toBe(path.join('images', `${sha(bytes)}.${ext}`));
      expect(fs.readFileSync(path.join(dir, b.relativePath)).equals(bytes)).toBe(true);
      expect(fs.statSync(path.join(dir, b.relativePath)).mode & 0o777).toBe(0o640);
    }
    expect(fs.statSync(path.join(dir, 'images')).mode & 0o777).toBe(0o750);
    expect(fs.readdirSync(path.join(dir, 'images')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('stores an identical image once', () => {
    const blobs = new BlobStore(tmpDir());
    expect(blobs.putImage(png).created).toBe(true);
    expect(blobs.putImage(png).created).toBe(false);
  });

  it('copies a PLY under its generation id and hash, verified, leaving the source untouched', async () => {
    const dir = tmpDir();
    const src = fs.readFileSync(PLY);
    const before = fs.statSync(PLY);
    const b = await new BlobStore(dir).putPly(ID, PLY, sha(src));
    expect(b.relativePath).toBe(path.join('ply_files', `${ID}_${sha(src)}.ply`));
    expect(fs.readFileSync(path.join(dir, b.relativePath)).equals(src)).toBe(true);
    expect(fs.statSync(PLY).mtimeMs).toBe(before.mtimeMs);
    expect(fs.statSync(path.join(dir, b.relativePath)).ino).not.toBe(before.ino);
  });

  it('refuses a PLY whose content is not the hash it was measured with, leaving nothing behind', async () => {
    const dir = tmpDir();
    await expect(new BlobStore(dir).putPly(ID, PLY, 'a'.repeat(64))).rejects.toThrow(/changed while it was copied/);
    expect(fs.readdirSync(path.join(dir, 'ply_files'))).toEqual([]);
  });

  it('never builds a path from anything but an id and a hash', async () => {
    await expect(new BlobStore(tmpDir()).putPly('../../etc/x', PLY, 'a'.repeat(64))).rejects.toThrow(/generation id/);
  });
});
