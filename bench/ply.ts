/**
 * Time to summarise a ~35 MB TRELLIS-layout PLY (sha256 + header + Gaussian stats, one pass) against
 * `cat FILE > /dev/null` on the same file in the same run (page cache warm for both; best of 5).
 * Run: node dist/bench/ply.js [--gaussians N]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizePly } from '../src/ply';
import { makePly, trellisVertex } from '../test/ply/helpers/make-ply';
import { printRows, timeIt, type BenchRow } from './report';

async function best(runs: number, fn: () => Promise<void> | void): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, await timeIt(fn));
  return min;
}

export async function benchPly(gaussians = 515_000): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-ply-'));
  try {
    const file = path.join(dir, 'trellis.ply');
    fs.writeFileSync(file, makePly('binary_little_endian', [trellisVertex(gaussians)]));
    const mb = fs.statSync(file).size / 1e6;
    const cat = () => void execFileSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);
    cat(); // warm the page cache for both
    await summarizePly(file); // and let the JIT see the hot loop once

    const catSecs = await best(5, cat);
    const oursSecs = await best(5, async () => void (await summarizePly(file)));
    const hashSecs = await best(5, () => void createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
    const ms = (s: number) => s * 1000;
    const size = `${mb.toFixed(1)} MB, ${gaussians} Gaussians`;
    return [
      { name: `cat FILE > /dev/null (${size})`, value: ms(catSecs), unit: 'ms' },
      { name: 'summarizePly: sha256 + header + stats, one pass', value: ms(oursSecs), unit: 'ms', baseline: ms(catSecs), ratio: oursSecs / catSecs },
      { name: 'summarizePly throughput', value: mb / oursSecs, unit: 'MB/s', baseline: mb / catSecs, ratio: catSecs / oursSecs },
      { name: 'reference: readFileSync + sha256 only', value: ms(hashSecs), unit: 'ms', baseline: ms(catSecs), ratio: hashSecs / catSecs },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--gaussians');
  benchPly(i > 0 ? Number(process.argv[i + 1]) : 515_000).then((rows) => printRows('PLY summary (TRELLIS layout)', rows));
}
