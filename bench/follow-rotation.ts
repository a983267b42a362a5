/**
 * Rotation under load: a writer process (test/sources/helpers/writer.js, PM2-like, re-opens on SIGUSR2)
 * appends 20,000 numbered lines while the file is rotated every 150 ms, by rename or by copy-truncate
 * (writer held during copy + truncate, so nothing can be lost by the rotation itself). Counts the lines
 * our Follower and the `tail` package each gave, in the same run. Needs the build (dist/).
 * Run: node dist/bench/follow-rotation.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Follower } from '../src/sources/follower';

const WRITER = path.join(__dirname, '../test/sources/helpers/writer.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RotationResult {
  reader: 'ours' | 'tail';
  mode: 'rename' | 'copytruncate';
  rotations: number;
  written: number;
  seen: number;
  duplicates: number;
}

export async function rotationRun(reader: 'ours' | 'tail', mode: 'rename' | 'copytruncate', lines = 20_000): Promise<RotationResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-rot-'));
  const file = path.join(dir, 'app-out.log');
  let done = false;
  const w: ChildProcess = spawn(process.execPath, [WRITER, file, String(lines), '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  w.stdout!.on('data', (d: Buffer) => (done ||= d.toString().includes('done')));
  const seen = new Set<number>();
  let duplicates = 0;
  const count = (text: string): void => {
    const m = /^seq (\d+)/.exec(text);
    if (!m) return;
    if (seen.has(Number(m[1]))) duplicates++;
    seen.add(Number(m[1]));
  };
  try {
    while (!fs.existsSync(file)) await sleep(5);
    let stop: () => Promise<void>;
    if (reader === 'tail') {
      const { Tail } = require('tail') as typeof import('tail');
      const t = new Tail(file, { fromBeginning: true });
      t.on('line', count);
      t.on('error', () => {});
      stop = async () => t.unwatch();
    } else {
      const f = new Follower({ path: file, app: 'bench', stream: 'out', statIntervalMs: 250 });
      const loop = (async () => {
        for await (const b of f) for (const l of b.lines) count(l.bytes.subarray(0, 20).toString());
      })();
      stop = async () => {
        await f.close();
        await loop;
      };
    }
    let rotations = 0;
    while (!done) {
      await sleep(150);
      if (done) break;
      rotations++;
      if (mode === 'rename') {
        fs.renameSync(file, `${file}.${rotations}`);
        w.kill('SIGUSR2');
      } else {
        w.kill('SIGSTOP');
        fs.copyFileSync(file, path.join(dir, `app-out__2025-11-12_21-30-${String(rotations).padStart(2, '0')}.log`));
        fs.truncateSync(file, 0);
        w.kill('SIGCONT');
      }
    }
    await sleep(3000); // both readers get 3 s to finish
    await stop();
    return { reader, mode, rotations, written: lines, seen: seen.size, duplicates };
  } finally {
    w.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runRotationBench(): Promise<string> {
  let table = '| rotation every 150 ms, 20,000 lines | reader | lines given | lost | twice |\n|---|---|---|---|---|\n';
  for (const mode of ['rename', 'copytruncate'] as const) {
    for (const reader of ['ours', 'tail'] as const) {
      const r = await rotationRun(reader, mode);
      const name = reader === 'ours' ? 'our `Follower`' : '`tail` 2.2.6';
      table += `| ${mode} (${r.rotations} rotations) | ${name} | ${r.seen.toLocaleString('en-US')} | ${(r.written - r.seen).toLocaleString('en-US')} | ${r.duplicates} |\n`;
    }
  }
  return table;
}

if (require.main === module) {
  runRotationBench().then(
    (t) => {
      process.stdout.write(`\n## Following log files: rotation under load\n${t}`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
