import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointSchema, type Checkpoint } from '../../src/sources/checkpoint';
import { Follower, type FollowerOptions } from '../../src/sources/follower';
import type { Line } from '../../src/sources/types';
import { drain, removeDir, tempDir, texts } from './helpers/tmp';

let dir: string;
let file: string;
const open: Follower[] = [];

beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'miner-out.log');
});
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  removeDir(dir);
});

function follow(opts: Partial<FollowerOptions> = {}): Follower {
  const f = new Follower({ path: file, app: 'miner', stream: 'out', ...opts });
  open.push(f);
  return f;
}

function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i}\n`;
  return s;
}
function names(from: number, to: number): string[] {
  return lines(from, to).split('\n').slice(0, -1);
}

describe('Follower: basics', () => {
  test('a file that does not exist yet is waited for, then read from its start', async () => {
    const f = follow();
    expect(await f.read()).toEqual({ lines: [], caughtUp: true });
    fs.writeFileSync(file, lines(0, 3));
    expect(await drain(f)).toEqual(names(0, 3));
  });

  test('an empty file, then one line without and with its newline', async () => {
    fs.writeFileSync(file, '');
    const f = follow();
    expect(await drain(f)).toEqual([]);
    fs.appendFileSync(file, 'only');
    expect(await drain(f)).toEqual([]);
    fs.appendFileSync(file, ' line\n');
    const got: Line[] = [];
    expect(await drain(f, got)).toEqual(['only line']);
    expect(got[0]).toMatchObject({ offset: 0, end: 10, source: { app: 'miner', stream: 'out', path: file } });
  });

  test('lines of 1 B, 1 MB and 70 MB (skipped, counted, logged with its offset) in one file', async () => {
    const warned: object[] = [];
    const mb = Buffer.alloc(1024 * 1024, 'm');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, 'a\n');
    fs.writeSync(fd, mb);
    fs.writeSync(fd, '\n');
    const longAt = 2 + mb.length + 1;
    for (let i = 0; i < 70; i++) fs.writeSync(fd, mb);
    fs.writeSync(fd, '\nb\n');
    fs.closeSync(fd);
    const f = follow({ logger: { warn: (o) => warned.push(o), info: () => {} } });
    const got: Line[] = [];
    await drain(f, got);
    expect(got.map((l) => l.bytes.length)).toEqual([1, mb.length, 1]);
    expect(got[2]!.offset).toBe(longAt + 70 * mb.length + 1);
    const st = f.stats();
    expect(st).toMatchObject({ lines: 3, skippedLines: 1, skippedBytes: 70 * mb.length });
    expect(st.skippedLineOffsets).toEqual([{ path: file, offset: longAt, bytes: 70 * mb.length }]);
    expect(warned).toEqual([{ path: file, offset: longAt, bytes: 70 * mb.length }]);
    expect(f.checkpoint().offset).toBe(fs.statSync(file).size);
  });

  test('CRLF and NUL padding at line starts', async () => {
    fs.writeFileSync(file, Buffer.concat([Buffer.alloc(4), Buffer.from('a\r\nb\n')]));
    const f = follow();
    expect(await drain(f)).toEqual(['a', 'b']);
    expect(f.stats().nulBytes).toBe(4);
  });

  test('startAt end skips history and the line being written', async () => {
    fs.writeFileSync(file, lines(0, 5) + 'half');
    const f = follow({ startAt: 'end' });
    expect(await drain(f)).toEqual([]);
    fs.appendFileSync(file, ' done\n' + lines(5, 7));
    expect(await drain(f)).toEqual(names(5, 7));
  });

  test('a checkpoint is a plain value that survives JSON and the schema', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    const cp = f.checkpoint();
    expect(CheckpointSchema.parse(JSON.parse(JSON.stringify(cp)))).toEqual(cp);
  });
});

describe('Follower: rotation and truncation while following', () => {
  test('rename rotation: the old file is read to its end (writes after the rename too), then the new one', async () => {
    const w = fs.openSync(file, 'a');
    fs.writeSync(w, lines(0, 3));
    const f = follow();
    expect(await drain(f)).toEqual(names(0, 3));
    fs.renameSync(file, `${file}.1`);
    fs.writeSync(w, lines(3, 5)); // the writer has not reopened yet
    expect(await drain(f)).toEqual(names(3, 5));
    fs.writeFileSync(file, ''); // logrotate `create`: empty new file, writer still on the old one
    fs.writeSync(w, lines(5, 6));
    expect(await drain(f)).toEqual(names(5, 6));
    fs.closeSync(w);
    fs.appendFileSync(file, lines(6, 9));
    expect(await drain(f)).toEqual(names(6, 9));
    expect(f.stats().rotations).toBe(1);
  });

  test('two rotations between two reads: the middle file is not lost', async () => {
    fs.writeFileSync(file, lines(0, 2));
    const f = follow();
    await drain(f);
    fs.appendFileSync(file, lines(2, 3));
    fs.renameSync(file, path.join(dir, 'miner-out__2025-11-12_21-30-00.log'));
    fs.writeFileSync(file, lines(3, 5));
    fs.renameSync(file, path.join(dir, 'miner-out__2025-11-12_21-30-01.log'));
    fs.writeFileSync(file, lines(5, 6));
    expect(await drain(f)).toEqual(names(2, 6));
  });

  test('delete and re-create: the deleted file is read to its end through the open fd', async () => {
    const w = fs.openSync(file, 'a');
    fs.writeSync(w, lines(0, 2));
    const f = follow();
    await drain(f);
    fs.unlinkSync(file);
    fs.writeSync(w, lines(2, 4));
    fs.closeSync(w);
    expect(await drain(f)).toEqual(names(2, 4));
    fs.writeFileSync(file, lines(4, 6));
    expect(await drain(f)).toEqual(names(4, 6));
  });

  test('copy-truncate as pm2-logrotate does: the copy is finished from our offset, nothing lost', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    fs.appendFileSync(file, lines(3, 5) + 'partial ');
    fs.copyFileSync(file, path.join(dir, 'miner-out__2025-11-12_21-30-00.log'));
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, 'rest\n' + lines(5, 7));
    expect(await drain(f)).toEqual([...names(3, 5), 'partial rest', ...names(5, 7)]);
    expect(f.stats()).toMatchObject({ truncations: 1, copiesRead: 1, lostBytes: 0 });
  });

  test('copy-truncate: bytes written between the copy and the truncate are counted as lost', async () => {
    fs.writeFileSync(file, lines(0, 100));
    const f = follow({ maxBatchBytes: 1, chunkBytes: 64 });
    await f.read(); // saw the size, read one chunk
    const whole = fs.readFileSync(file);
    fs.writeFileSync(path.join(dir, 'miner-out__2025-11-12_21-30-00.log'), whole.subarray(0, 500));
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, 'after\n');
    const got = await drain(f);
    expect(got[got.length - 1]).toBe('after');
    const cut = 500 - whole.subarray(0, 500).lastIndexOf(10) - 1; // the line cut at the copy's end
    expect(f.stats().lostBytes).toBe(whole.length - 500 + cut);
  });

  test('pm2 flush (truncate to 0) without a copy: unread bytes are counted, reading restarts at 0', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow({ maxBatchBytes: 1, chunkBytes: 7 });
    await f.read();
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, lines(3, 4));
    const got = await drain(f);
    expect(got).toEqual(names(3, 4));
    expect(f.stats().lostBytes).toBe(lines(0, 3).length - 7 + 0);
    expect(f.stats().truncations).toBe(1);
  });

  test('bytes_unread: a rotated file with unread bytes is read to its end, however long that takes', async () => {
    // Fluent Bit gives a rotated file 5 s; there is no such timer here: the old file is finished first.
    fs.writeFileSync(file, lines(0, 2000));
    const f = follow({ maxBatchBytes: 1000, chunkBytes: 512 });
    const got = texts((await f.read()).lines);
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, lines(2000, 2100));
    got.push(...(await drain(f)));
    expect(got).toEqual(names(0, 2100));
  });

  test('copy-truncate with a writer at a stale offset: the NUL hole is skipped and counted', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const size = fs.statSync(file).size;
    const f = follow();
    await drain(f);
    fs.copyFileSync(file, path.join(dir, 'miner-out__2025-11-12_21-30-00.log'));
    fs.truncateSync(file, 0);
    const w = fs.openSync(file, 'r+'); // no O_APPEND: writes where it was
    fs.writeSync(w, lines(3, 5), size);
    fs.closeSync(w);
    expect(await drain(f)).toEqual(names(3, 5));
    expect(f.stats()).toMatchObject({ nulBytes: size, lostBytes: 0, copiesRead: 1 });
  });

  test('truncated and rewritten past the old offset between two reads is detected', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    fs.writeFileSync(file, 'x'.repeat(100) + '\nnew\n');
    expect(await drain(f)).toEqual(['x'.repeat(100), 'new']);
  });

  test('rewritten with the same first bytes: the byte before the offset gives it away', async () => {
    const banner = 'B'.repeat(300) + '\n';
    fs.writeFileSync(file, banner + 'old\n');
    const f = follow();
    await drain(f);
    fs.writeFileSync(file, banner + 'newer content\n');
    expect(await drain(f)).toEqual(['B'.repeat(300), 'newer content']);
  });
});

describe('Follower: restart from a checkpoint', () => {
  async function resume(cp: Checkpoint): Promise<string[]> {
    const f = follow({ checkpoint: cp });
    return drain(f);
  }

  test('resuming from any committed checkpoint yields exactly the remaining lines', async () => {
    fs.writeFileSync(file, lines(0, 20));
    const f = follow();
    const got: Line[] = [];
    await drain(f, got);
    for (let i = 0; i < got.length; i++) {
      const cp = JSON.parse(JSON.stringify(f.checkpointAfter(got[i]!))) as Checkpoint;
      expect(await resume(cp)).toEqual(names(i + 1, 20));
    }
  });

  test('a rotation while the collector is down: the old file is finished, then the new one', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    const cp = f.checkpoint();
    await f.close();
    fs.appendFileSync(file, lines(3, 5));
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, lines(5, 7));
    expect(await resume(cp)).toEqual(names(3, 7));
  });

  test('a copy-truncate while down: the copy is finished from the offset, then the file from 0', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    const cp = f.checkpoint();
    fs.appendFileSync(file, lines(3, 5));
    fs.copyFileSync(file, path.join(dir, 'miner-out__2025-11-12_21-30-00.log'));
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, lines(5, 6));
    expect(await resume(cp)).toEqual(names(3, 6));
  });

  test('two files whose first lines are identical stay two files', async () => {
    const banner = 'starting miner ' + '='.repeat(300) + '\n';
    fs.writeFileSync(file, banner + lines(0, 3));
    const f = follow();
    await drain(f);
    const cp = f.checkpoint();
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, banner + lines(10, 40)); // same banner, longer than the old offset
    const resumed = await resume(cp);
    expect(resumed).toEqual([banner.trimEnd(), ...names(10, 40)]);
    // and a worker's file with the same banner is not taken for the miner's
    const other = path.join(dir, 'gen-worker-1-error.log');
    fs.writeFileSync(other, banner + 'worker\n');
    const g = new Follower({ path: other, app: 'w', stream: 'error', checkpoint: { ...cp, path: other } });
    open.push(g);
    expect(await drain(g)).toEqual([banner.trimEnd(), 'worker']);
  });

  test('a checkpoint whose file is gone reads the path from its start, and says so', async () => {
    fs.writeFileSync(file, lines(0, 3));
    const f = follow();
    await drain(f);
    const cp = f.checkpoint();
    fs.unlinkSync(file);
    fs.writeFileSync(file, lines(3, 4));
    const warned: string[] = [];
    const g = follow({ checkpoint: cp, logger: { warn: (_o, m) => warned.push(m), info: () => {} } });
    expect(await drain(g)).toEqual(names(3, 4));
    expect(warned.length).toBe(1);
  });
});

describe('Follower: wake-ups', () => {
  test('the async iterator yields lines as they are appended and says when it is caught up', async () => {
    fs.writeFileSync(file, lines(0, 2));
    const f = follow({ statIntervalMs: 200 });
    const seen: string[] = [];
    const caught: boolean[] = [];
    const it = f[Symbol.asyncIterator]();
    const deadline = Date.now() + 20000;
    let appended = false;
    while (seen.length < 4 && Date.now() < deadline) {
      const r = await it.next();
      if (r.done) break;
      seen.push(...texts(r.value.lines));
      caught.push(r.value.caughtUp);
      if (r.value.caughtUp && !appended) {
        appended = true;
        fs.appendFileSync(file, lines(2, 4));
      }
    }
    expect(seen).toEqual(names(0, 4));
    expect(caught).toContain(true);
    await f.close();
  });
});
