import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { openOrNull } from '../../src/sources/file-reader';
import { readFileLines } from '../../src/sources/one-shot';
import { emptyStats, type Line } from '../../src/sources/types';
import { removeDir, tempDir } from './helpers/tmp';

let dir: string;
beforeEach(() => (dir = tempDir('oneshot-')));
afterEach(() => removeDir(dir));

async function all(p: string, opts = {}): Promise<Line[]> {
  const out: Line[] = [];
  for await (const batch of readFileLines(p, opts)) out.push(...batch);
  return out;
}

const content = Buffer.concat([
  Buffer.from('first\r\n'),
  Buffer.alloc(3), // NUL padding
  Buffer.from('second\n'),
  Buffer.alloc(300_000, 'p'), // a long prompt line
  Buffer.from('\nlast without newline'),
]);

test('a rotated plain file: every line with offsets, the unterminated last one too', async () => {
  const p = path.join(dir, 'miner-out__2025-11-12_21-30-00.log');
  fs.writeFileSync(p, content);
  const stats = emptyStats();
  const lines = await all(p, { app: 'miner', stream: 'out', chunkBytes: 4096, stats });
  expect(lines.map((l) => l.bytes.length)).toEqual([5, 6, 300_000, 'last without newline'.length]);
  expect(lines[1]!.offset).toBe(10);
  expect(lines[3]!.end).toBe(content.length);
  expect(lines[0]!.source).toMatchObject({ app: 'miner', stream: 'out', path: p });
  expect(stats).toMatchObject({ lines: 4, nulBytes: 3 });
  const dropped = await all(p, { emitUnterminated: false });
  expect(dropped.length).toBe(3);
});

test('a gzipped rotated file is streamed: same lines, offsets in uncompressed bytes', async () => {
  const plain = path.join(dir, 'a.log');
  const gz = path.join(dir, 'miner-out__2025-11-12_21-30-00.log.gz');
  fs.writeFileSync(plain, content);
  fs.writeFileSync(gz, zlib.gzipSync(content));
  const a = await all(plain);
  const b = await all(gz);
  expect(b.map((l) => [l.bytes.toString('latin1'), l.offset, l.end])).toEqual(a.map((l) => [l.bytes.toString('latin1'), l.offset, l.end]));
});

test('a line over the maximum is skipped and counted in a one-shot read too', async () => {
  const p = path.join(dir, 'x.log');
  fs.writeFileSync(p, `a\n${'z'.repeat(5000)}\nb\n`);
  const stats = emptyStats();
  const lines = await all(p, { maxLineBytes: 1000, chunkBytes: 512, stats });
  expect(lines.map((l) => l.bytes.toString())).toEqual(['a', 'b']);
  expect(stats.skippedLineOffsets).toEqual([{ path: p, offset: 2, bytes: 5000 }]);
});

test('a FIFO, a directory or a missing file at a log path: a clear error at once, never a read that waits for a writer (issue 15, item 3)', async () => {
  const fifo = path.join(dir, 'miner-out.log');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const started = Date.now();
  await expect(all(fifo)).rejects.toThrow(`${fifo} is a FIFO: only regular files are read`);
  await expect(openOrNull(fifo)).rejects.toMatchObject({ code: 'ENOTREGULAR' });
  expect(Date.now() - started).toBeLessThan(5000);
  await expect(all(dir)).rejects.toThrow(`${dir} is a directory: only regular files are read`);
  await expect(all(path.join(dir, 'gone.log'))).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await openOrNull(path.join(dir, 'gone.log'))).toBeNull();
});

test('the next chunk is read ahead; a reader that stops early leaves no read in flight and no fd open', async () => {
  const p = path.join(dir, 'big.log');
  const line = `${'x'.repeat(99)}\n`;
  fs.writeFileSync(p, line.repeat(50_000)); // 5 MB: five chunks of 1 MiB
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const before = fds();
  let batches = 0;
  for await (const batch of readFileLines(p, { chunkBytes: 1 << 20 })) {
    expect(batch[0]!.bytes.toString()).toBe('x'.repeat(99));
    if (++batches === 2) break;
  }
  await new Promise((r) => setTimeout(r, 20));
  expect(fds()).toBe(before);
  // read to the end: every line once, in order
  const lines = await all(p, { chunkBytes: 1 << 20 });
  expect(lines).toHaveLength(50_000);
  expect(lines.every((l, i) => l.offset === i * 100)).toBe(true);
});

test('reuseBuffers: a consumer that copies each batch before asking for the next gets the same lines, plain and .gz', async () => {
  // lines of 0 B to 300 KB over 4 KiB reads: most long lines span reads, some reads hold no newline
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const lines = Array.from({ length: 400 }, (_, i) => (i % 37 === 0 ? 'p'.repeat(rnd(300_000)) : `line ${i} ${'x'.repeat(rnd(200))}`));
  const text = Buffer.from(lines.join('\n') + '\nlast without newline');
  const plain = path.join(dir, 'reuse.log');
  fs.writeFileSync(plain, text);
  fs.writeFileSync(`${plain}.gz`, zlib.gzipSync(text));
  for (const p of [plain, `${plain}.gz`]) {
    const want = (await all(p, { chunkBytes: 4096 })).map((l) => [l.bytes.toString(), l.offset, l.end]);
    const got: (string | number)[][] = [];
    // copied as each batch comes: the previous batch's buffers take the next reads
    for await (const batch of readFileLines(p, { chunkBytes: 4096, reuseBuffers: true })) got.push(...batch.map((l) => [l.bytes.toString(), l.offset, l.end]));
    expect(got).toEqual(want);
    expect(want).toHaveLength(401);
  }
});
