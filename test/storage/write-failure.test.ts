/**
 * Writes that fail for a while, across a month boundary: under a real file size limit (EFBIG) in a
 * child process, and with an injected ENOSPC in this one. Retried as the daemon does (the whole
 * pending list again), every record ends stored exactly once, in the right monthly file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { ManualClock } from '../../src/common/clock';
import { openGenerationStore } from '../../src/sinks';
import { allLines, monthsOfRecords, readDataDir, tmpDir } from './helpers/data';

const idsOf = (dir: string) => allLines(dir).map((l) => (JSON.parse(l) as { metadata: { generation_id: string } }).metadata.generation_id).sort();

function checkMonths(dir: string): void {
  for (const [name, lines] of readDataDir(dir)) {
    const m = /_(\d{4}-\d{2})\.jsonl$/.exec(name);
    if (m) for (const l of lines) expect((JSON.parse(l) as { metadata: { timestamp: string } }).metadata.timestamp.slice(0, 7)).toBe(m[1]);
  }
}

it('a writer under `ulimit -f` fails with EFBIG part-way; retried without the limit, nothing is lost or doubled', async () => {
  const dir = tmpDir('dc-efbig-');
  const sinks = path.resolve(__dirname, '../../dist/src/sinks/index.js');
  const data = path.resolve(__dirname, '../../dist/test/storage/helpers/data.js');
  const clockJs = path.resolve(__dirname, '../../dist/src/common/clock.js');
  const script = `
    process.on('SIGXFSZ', () => {}); // as the CLI: EFBIG instead of death
    const { openGenerationStore } = require(${JSON.stringify(sinks)});
    const { monthsOfRecords } = require(${JSON.stringify(data)});
    const { ManualClock } = require(${JSON.stringify(clockJs)});
    (async () => {
      const store = await openGenerationStore({ dataDir: ${JSON.stringify(dir)}, clock: new ManualClock(Date.UTC(2025, 11, 1)) });
      const all = monthsOfRecords(['2025-09', '2025-10', '2025-11'], 40);
      for (let i = 0; i < all.length; i += 9) {
        try { await store.append(all.slice(i, i + 9)); }
        catch (e) { console.log(e.code); return; }
      }
      console.log('no failure');
    })();`;
  const child = spawn('bash', ['-c', `ulimit -f 48; exec "${process.execPath}" -e "$0"`, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('exit', r));
  expect(out.trim()).toBe('EFBIG');
  const all = monthsOfRecords(['2025-09', '2025-10', '2025-11'], 40);
  const partial = idsOf(dir);
  expect(partial.length).toBeGreaterThan(0);
  expect(partial.length).toBeLessThan(all.length);
  expect(new Set(partial).size).toBe(partial.length);
  // the space is back: the daemon retries everything it had not committed
  const store = await openGenerationStore({ dataDir: dir, clock: new ManualClock(Date.UTC(2025, 11, 1)) });
  expect(await store.append(all)).toMatchObject({ written: all.length - partial.length, duplicates: partial.length });
  expect(idsOf(dir)).toEqual(all.map((r) => r.metadata.generation_id).sort());
  checkMonths(dir);
});

it('an append that fails (ENOSPC) after the month switch is retried without doubling the part before it', async () => {
  const dir = tmpDir('dc-enospc-');
  const store = await openGenerationStore({ dataDir: dir, clock: new ManualClock(Date.UTC(2025, 10, 30)) });
  const all = monthsOfRecords(['2025-10', '2025-11'], 10);
  await store.append(all.slice(0, 5));
  // the next batch spans the month: its October part is written, the file sealed, then the disk is full
  let failures = 0;
  const fsModule = require('node:fs') as typeof fs; // the module object itself: the store's imports read through to it
  const real = fsModule.writeSync;
  const spy = jest.spyOn(fsModule, 'writeSync').mockImplementation(((fd: number, buf: Buffer, ...rest: unknown[]) => {
    const file = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (path.basename(file) === 'generation_history.jsonl' && fs.fstatSync(fd).size === 0 && failures < 3) {
      failures++;
      (real as (...a: unknown[]) => number).call(fs, fd, buf.subarray(0, 100)); // a part reaches the disk, as a real failure may
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }
    return (real as (...a: unknown[]) => number).call(fs, fd, buf, ...rest);
  }) as typeof fs.writeSync);
  try {
    const pending = all.slice(5);
    let tries = 0;
    for (;;) {
      tries++;
      try {
        await store.append(pending);
        break;
      } catch (err) {
        expect((err as { code: string }).code).toBe('ENOSPC');
      }
    }
    expect(tries).toBe(4);
  } finally {
    spy.mockRestore();
  }
  expect(idsOf(dir)).toEqual(all.map((r) => r.metadata.generation_id).sort());
  expect([...readDataDir(dir).keys()]).toEqual(['generation_history.jsonl', 'generation_history_2025-10.jsonl']);
  checkMonths(dir);
});
