/** readUnitLines over reads it reuses: every line of a file exactly once, at its offset, however units and reads cut it. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { planUnits } from '../../src/query';
import { readUnitLines } from '../../src/query/lines';

/** Lines of 0 B to 1.3 MB (longer than a read), deterministic, 4 MB in all, the last one without `\n`. */
function writeLines(file: string): { lines: string[]; offsets: number[] } {
  let s = 7;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  const lines: string[] = [];
  const offsets: number[] = [];
  let at = 0;
  while (at < 4_000_000) {
    const r = next() % 100;
    const len = r < 80 ? next() % 300 : r < 97 ? next() % 70_000 : 900_000 + (next() % 400_000);
    const line = String.fromCharCode(97 + (lines.length % 26)).repeat(len);
    lines.push(line);
    offsets.push(at);
    at += len + 1;
  }
  fs.writeFileSync(file, lines.join('\n'));
  return { lines, offsets };
}

test.each([100_000, (1 << 20) - 1, 1_500_000, 64 << 20])('units of %d bytes: each line once, at its offset, the last one unterminated', async (chunkBytes) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-unit-lines-'));
  try {
    const file = path.join(dir, 'generation_history.jsonl');
    const { lines, offsets } = writeLines(file);
    const seen: { line: string; offset: number; terminated: boolean }[] = [];
    for (const unit of planUnits([dir], chunkBytes))
      await readUnitLines(unit, (line, offset, terminated) => seen.push({ line: line.toString('latin1'), offset, terminated }));
    expect(seen.length).toBe(lines.length);
    seen.forEach((x, i) => {
      // compared one by one: a mismatch names the line instead of printing megabytes
      if (x.line !== lines[i] || x.offset !== offsets[i]) throw new Error(`line ${i}: ${x.line.length} B at ${x.offset}, expected ${lines[i]!.length} B at ${offsets[i]}`);
    });
    expect(seen.map((x) => x.terminated).lastIndexOf(false)).toBe(lines.length - 1);
    expect(seen.filter((x) => !x.terminated).length).toBe(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a .gz unit gives the same lines', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-unit-lines-'));
  try {
    const plain = path.join(dir, 'plain.txt');
    const { lines, offsets } = writeLines(plain);
    const archive = path.join(dir, 'archive');
    fs.mkdirSync(archive);
    fs.writeFileSync(path.join(archive, 'generation_history_2025-01.jsonl.gz'), zlib.gzipSync(fs.readFileSync(plain)));
    fs.rmSync(plain);
    const seen: [string, number][] = [];
    for (const unit of planUnits([dir])) await readUnitLines(unit, (line, offset) => seen.push([line.toString('latin1'), offset]));
    expect(seen.length).toBe(lines.length);
    expect(seen.every(([l, o], i) => l === lines[i] && o === offsets[i])).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a visitor that throws: the error comes back, and no read is left to fail on a closed file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-unit-lines-'));
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    writeLines(path.join(dir, 'generation_history.jsonl'));
    const [unit] = planUnits([dir]);
    let seen = 0;
    await expect(
      readUnitLines(unit!, () => {
        if (++seen === 3) throw new Error('visitor failed');
      }),
    ).rejects.toThrow('visitor failed');
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
