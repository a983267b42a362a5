/**
 * `ingest` of a realistic miner log (60% image tasks) against, in the same run, a bare loop doing
 * only the unavoidable work: read, split lines, base64-decode and SHA-256 and BLAKE3 each image
 * prompt once. With `--endpoints N` (N > 1) the log is N endpoints at once with their workers' logs
 * (synthetic-concurrent-log.ts): then the share of ingest's time spent attributing unnamed events,
 * and the sizes on the right generation. Run: node dist/bench/ingest.js [--size-mb N] [--endpoints N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { setStreamingFlags } from '../src/common/streaming-flags';
import { runIngest } from '../src/pipeline/ingest';
import { explicitStreams } from '../src/pipeline/inputs';
import { defaultConfig } from '../src/config';
import { printRows, timedProcess, timeIt, type BenchRow } from './report';
import { writeSyntheticLog } from './synthetic-log';
import { writeConcurrentLog } from './synthetic-concurrent-log';
import { parseRecordLine } from '../src/schema';
import type { StreamSpec } from '../src/parse';
import type { Config } from '../src/config';

const PROMPT = Buffer.from('Task received. Prompt: ');

/** The floor: every byte read, every line split, every image prompt decoded and hashed once. */
async function floor(files: string[]): Promise<number> {
  let images = 0;
  for (const f of files) images += await floorOf(f);
  return images;
}

async function floorOf(file: string): Promise<number> {
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

/** The input: one endpoint's log alone, or N endpoints' with their workers' logs and each task's size. */
async function writeInput(dir: string, sizeMb: number, endpoints: number) {
  const config: Config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', store_images: false };
  if (endpoints <= 1) {
    const file = path.join(dir, 'miner-sn17-mainnet-out.log');
    const log = await writeSyntheticLog(file, sizeMb * 1024 * 1024);
    return { ...log, files: [file], config, streams: explicitStreams([file], [], null), sizes: null };
  }
  const log = await writeConcurrentLog(dir, sizeMb * 1024 * 1024, endpoints);
  const streams: StreamSpec[] = explicitStreams([log.minerFile], log.workers.map((w) => `${w.group}=${w.file}`), null);
  config.workers = log.workers.map((w) => ({ name: w.group, pm2App: w.group, endpoint: w.url, logs: [], outputDir: null }));
  return { ...log, files: [log.minerFile, ...log.workers.map((w) => w.file)], config, streams };
}

/** Records whose size is the one their task's end logged; those wrong with the end marked inferred, and not. */
function sizesRight(dataDir: string, sizes: Map<string, number | null>): { right: number; inferred: number; unmarked: number } {
  const counts = { right: 0, inferred: 0, unmarked: 0 };
  for (const l of fs.readFileSync(path.join(dataDir, 'generation_history.jsonl'), 'utf8').split('\n')) {
    if (!l) continue;
    const p = parseRecordLine(l);
    if (!p.ok) throw new Error(p.error);
    const r = p.record;
    const want = sizes.get(r.metadata.timestamp);
    if (want === undefined) throw new Error(`a record of no task: ${r.metadata.timestamp}`);
    if (r.generation.output.file_size_bytes === want) counts.right++;
    else if (r.provenance.links.some((k) => k.link === 'inferred')) counts.inferred++;
    else counts.unmarked++;
  }
  return counts;
}

export async function benchIngest(sizeMb = 1024, endpoints = 1): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-ingest-'));
  try {
    const log = await writeInput(dir, sizeMb, endpoints);
    const mb = log.bytes / 1024 / 1024;
    const floorSecs = await timeIt(() => floor(log.files).then(() => undefined));
    // ingest in this process as `data-collector ingest` runs: with V8 set as its command sets it (the floor, a bare loop, without)
    setStreamingFlags();
    let events = 0;
    let records = 0;
    let attributionMs = 0;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const ingestSecs = await timeIt(async () => {
      const s = await runIngest({ config: log.config, streams: log.streams, minerApp: 'miner-sn17-mainnet', host: 'bench' });
      events = s.events;
      records = s.records;
      attributionMs = s.attributionMs;
    });
    clearInterval(timer);
    if (records !== log.tasks) throw new Error(`expected ${log.tasks} records, got ${records}`);
    // as a user runs it: `data-collector ingest`, its own process (its peak RSS is all its own)
    const cliConfig = path.join(dir, 'config.json');
    fs.writeFileSync(cliConfig, JSON.stringify({ timeZone: 'UTC', store_images: false, workers: log.config.workers }));
    const cli = timedProcess(process.execPath, [
      path.join(__dirname, '../src/cli/main.js'),
      'ingest',
      '--config',
      cliConfig,
      '--data-dir',
      path.join(dir, 'data-cli'),
      ...log.streams.flatMap((s) => (s.role === 'miner' ? ['--miner-log', s.file] : ['--worker-log', `${s.group}=${s.file}`])),
    ]);
    const rows: BenchRow[] = [
      { name: `floor: read + split + decode/SHA-256/BLAKE3 each image (${mb.toFixed(0)} MB, ${log.imageTasks} images)`, value: mb / floorSecs, unit: 'MB/s' },
      { name: 'ingest (store_images off)', value: mb / ingestSecs, unit: 'MB/s', baseline: mb / floorSecs, ratio: floorSecs / ingestSecs },
      { name: 'ingest events', value: events / ingestSecs, unit: 'events/s' },
      { name: 'ingest peak RSS (in this process, after the floor)', value: peakRss / 1024 / 1024, unit: 'MB' },
      { name: '`data-collector ingest` as its own process, start-up included', value: mb / cli.secs, unit: 'MB/s', baseline: mb / floorSecs, ratio: floorSecs / cli.secs },
      { name: '`data-collector ingest` as its own process: peak RSS', value: cli.rssMb, unit: 'MB' },
      { name: 'attributing unnamed events, share of ingest', value: (100 * attributionMs) / 1000 / ingestSecs, unit: '%' },
    ];
    if (log.sizes) {
      const c = sizesRight(log.config.dataDir, log.sizes);
      rows.push({ name: `sizes on the right generation (${records} tasks; wrong and inferred ${c.inferred}, wrong and not marked ${c.unmarked})`, value: (100 * c.right) / records, unit: '%' });
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
  const endpoints = arg('--endpoints', 1);
  benchIngest(arg('--size-mb', 1024), endpoints).then((rows) => printRows(`Ingest of a realistic miner log (${endpoints} endpoint${endpoints > 1 ? 's, with worker logs' : ''})`, rows));
}
