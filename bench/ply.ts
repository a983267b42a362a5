/**
 * Time to summarise a ~35 MB TRELLIS-layout PLY (sha256 + header + Gaussian stats, one pass) against
 * `cat FILE > /dev/null` on the same file in the same run (page cache warm for both; best of 5); and
 * to keep an accepted one in ply_files/ (copy, fsync, verify the copy's sha256, rename) against a bare
 * `fs.copyFileSync` of the same file.
 * Run: node dist/bench/ply.js [--gaussians N]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizePly } from '../src/ply';
import { PlyKeeper } from '../src/pipeline/ply-files';
import { emptyRecord } from '../src/schema';
import { BlobStore } from '../src/sinks';
import { BlobPolicy } from '../src/sinks/space';
import { silentLogger } from '../src/common/logger';
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
    const copySecs = await best(5, () => {
      fs.copyFileSync(file, path.join(dir, 'copy.ply'));
      fs.rmSync(path.join(dir, 'copy.ply'));
    });
    const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const data = path.join(dir, 'data');
    const keepSecs = await best(5, async () => {
      fs.rmSync(data, { recursive: true, force: true });
      await keepAccepted(file, sha, data);
    });
    const ms = (s: number) => s * 1000;
    const size = `${mb.toFixed(1)} MB, ${gaussians} Gaussians`;
    return [
      { name: `cat FILE > /dev/null (${size})`, value: ms(catSecs), unit: 'ms' },
      { name: 'summarizePly: sha256 + header + stats, one pass', value: ms(oursSecs), unit: 'ms', baseline: ms(catSecs), ratio: oursSecs / catSecs },
      { name: 'summarizePly throughput', value: mb / oursSecs, unit: 'MB/s', baseline: mb / catSecs, ratio: catSecs / oursSecs },
      { name: 'reference: readFileSync + sha256 only', value: ms(hashSecs), unit: 'ms', baseline: ms(catSecs), ratio: hashSecs / catSecs },
      { name: 'fs.copyFileSync of the file', value: ms(copySecs), unit: 'ms' },
      { name: 'keep an accepted PLY: copy + fsync + sha256 check + rename', value: ms(keepSecs), unit: 'ms', baseline: ms(copySecs), ratio: keepSecs / copySecs },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the daemon does once an accepted generation's (already measured) file is to be kept. */
async function keepAccepted(file: string, sha256: string, dataDir: string): Promise<void> {
  const record = emptyRecord({ generation_id: '0f8e6c2a-3b1d-5e4f-8a9b-1c2d3e4f5a6b', timestamp: '2025-11-12T21:30:45.123Z', host: 'h', miner_app: 'm', collector_version: '0' });
  const st = fs.statSync(file);
  record.validator_feedback.accepted = true;
  record.generation.output.ply_file_hash = `sha256:${sha256}`;
  const policy = new BlobPolicy(dataDir, { store_images: true, store_ply_files: true, minFreeBytes: 0, retention: { keepRejectedPly: false } });
  await new PlyKeeper(new BlobStore(dataDir), policy, silentLogger).complete([
    { record, supersedesIfPresent: [], ply: { path: file, dir: path.dirname(file), name: path.basename(file), size: st.size, mtimeMs: st.mtimeMs, measured: true } },
  ]);
  if (!record.generation.output.ply_file_path) throw new Error('not kept');
}

if (require.main === module) {
  const i = process.argv.indexOf('--gaussians');
  benchPly(i > 0 ? Number(process.argv[i + 1]) : 515_000).then((rows) => printRows('PLY summary (TRELLIS layout)', rows));
}
