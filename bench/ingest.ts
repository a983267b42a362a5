/**
 * `ingest` of a realistic miner log (60% image tasks) against, in the same run, a bare loop doing
 * only the unavoidable work: read, split lines, base64-decode and SHA-256 and BLAKE3 each image
 * prompt once. Run: node dist/bench/ingest.js [--size-mb N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { runIngest } from '../src/pipeline/ingest';
import { explicitStreams } from '../src/pipeline/inputs';
import { defaultConfig } from '../src/config';
import { printRows, timeIt, type BenchRow } from './report';
import { writeSyntheticLog } from './synthetic-log';

const PROMPT = Buffer.from('Task received. Prompt: ');

/** The floor: every byte read, every line split, every image prompt decoded and hashed once. */
async function floor(file: string): Promise<number> {
  const blake = await createBLAKE3();
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let carry: Buffer[] = [];
  let images = 0;
  const onLine = (l: Buffer) => {
    const at = l.indexOf(PROMPT);
    if (at === -1 || l.length < 10000) return;
    const b64 = l.subarray(at + PROMPT.length, l.length - 1);
    blake.init();
    blake.update(b64);
    blake.digest('hex');
    createHash('sha256').update(Buffer.from(b64.toString('latin1'), 'base64')).digest('hex');
    images++;
  };
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1 || nl >= n) break;
      if (carry.length) {
        carry.push(chunk.subarray(start, nl));
        onLine(Buffer.concat(carry));
        carry = [];
      } else onLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < n) carry.push(Buffer.from(chunk.subarray(start, n)));
  }
  fs.closeSync(fd);
  return images;
}

export async function benchIngest(sizeMb = 1024): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-ingest-'));
  try {
    const file = path.join(dir, 'miner-sn17-mainnet-out.log');
    const log = await writeSyntheticLog(file, sizeMb * 1024 * 1024);
    const mb = log.bytes / 1024 / 1024;
    const floorSecs = await timeIt(() => floor(file).then(() => undefined));
    const config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', store_images: false };
    let events = 0;
    let records = 0;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const ingestSecs = await timeIt(async () => {
      const s = await runIngest({ config, streams: explicitStreams([file], [], null), minerApp: 'miner-sn17-mainnet', host: 'bench' });
      events = s.events;
      records = s.records;
    });
    clearInterval(timer);
    if (records !== log.tasks) throw new Error(`expected ${log.tasks} records, got ${records}`);
    return [
      { name: `floor: read + split + decode/SHA-256/BLAKE3 each image (${mb.toFixed(0)} MB, ${log.imageTasks} images)`, value: mb / floorSecs, unit: 'MB/s' },
      { name: 'ingest (store_images off)', value: mb / ingestSecs, unit: 'MB/s', baseline: mb / floorSecs, ratio: floorSecs / ingestSecs },
      { name: 'ingest events', value: events / ingestSecs, unit: 'events/s' },
      { name: 'ingest peak RSS', value: peakRss / 1024 / 1024, unit: 'MB' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--size-mb');
  benchIngest(i > 0 ? Number(process.argv[i + 1]) : 1024).then((rows) => printRows('Ingest of a realistic miner log', rows));
}
