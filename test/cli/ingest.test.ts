/** `data-collector ingest` as an operator runs it, with a worker's output directory. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig } from '../../src/config';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const MONKEY = path.resolve(__dirname, '../fixtures/ply/monkey.ply');
const miner = (s: string, msg: string) => `2025-11-12 21:30:${s} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'ingest', ...args], { encoding: 'utf8', env: { ...process.env, DC_LOG_LEVEL: 'warn' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-cli-ingest-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--output-dir GROUP=DIR links the files and says so; without a group to name, exit 2 with the groups', () => {
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  fs.writeFileSync(
    log,
    miner('40.000', 'Task received. Prompt: a red chair.') +
      miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
      miner('50.000', 'Generation completed. Size: 1') +
      miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)'),
  );
  const out = path.join(dir, 'outputs');
  fs.mkdirSync(out);
  fs.copyFileSync(MONKEY, path.join(out, 'gen.ply'));
  const t = Date.UTC(2025, 10, 12, 21, 30, 49) / 1000;
  fs.utimesSync(path.join(out, 'gen.ply'), t, t);
  const data = path.join(dir, 'data');

  const bad = run(['--miner-log', log, '--output-dir', out, '--data-dir', data, '--time-zone', 'UTC']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--output-dir .*: name its worker group \(GROUP=DIR\); the worker groups are: none/);

  const ok = run(['--miner-log', log, '--output-dir', `gen-worker-1=${out}`, '--data-dir', data, '--time-zone', 'UTC']);
  expect(ok.code).toBe(0);
  expect(ok.out).toMatch(/1 records written, .*1 output files linked \(0 with no generation\)/);
  const record = JSON.parse(fs.readFileSync(path.join(data, 'generation_history.jsonl'), 'utf8')) as { generation: { output: { num_gaussians: number; ply_file_path: string } } };
  expect(record.generation.output.num_gaussians).toBe(36039);
  expect(fs.existsSync(path.join(data, record.generation.output.ply_file_path))).toBe(true);
});

test('two ingests of a growing log: the feedback the second one sees outranks the first one\'s record of a failed generation (issue 15, item 5)', () => {
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  const data = path.join(dir, 'data');
  const ingest = () => run(['--miner-log', log, '--data-dir', data, '--time-zone', 'UTC']);
  const records = () =>
    fs
      .readFileSync(path.join(data, 'generation_history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: string; provenance: { revision: number }; validator_feedback: { received: boolean; score: number | null }; metadata: { validator_uid: number | null } });
  fs.writeFileSync(
    log,
    miner('39.500', 'Querying task from [57]. Stake: 1000.0') +
      miner('40.000', 'Task received. Prompt: a red chair.') +
      miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
      miner('50.000', 'Generation failed with code: 500'),
  );
  expect(ingest().code).toBe(0);
  expect(records().map((r) => [r.outcome, r.provenance.revision, r.validator_feedback.received])).toEqual([['generation_failed', 0, false]]);
  fs.appendFileSync(log, miner('58.000', 'Feedback received from [57]. Score: 0.0. (a red chair)'));
  expect(ingest().code).toBe(0);
  // the version with the feedback is written as the next revision; a third run adds nothing
  expect(records().map((r) => [r.outcome, r.provenance.revision, r.validator_feedback.received, r.validator_feedback.score])).toEqual([
    ['generation_failed', 0, false, null],
    ['generation_failed', 1, true, 0],
  ]);
  expect(ingest().code).toBe(0);
  expect(records()).toHaveLength(2);
});

test('--miner-log takes several paths and a glob (the rotated and gzipped copies), in any order; the summary in words; --explain-unmatched lists entries no rule took (issue 16)', () => {
  const task = (t: string, prompt: string) =>
    miner(`${t}.000`, `Task received. Prompt: ${prompt}.`) +
    miner(`${t}.100`, `Generating for prompt: ${prompt} with timeout None seconds`) +
    miner(`${t}.500`, 'Generation completed. Size: 7') +
    miner(`${t}.900`, `Feedback received from [57]. Score: 0.8. (${prompt})`);
  // pm2-logrotate's names: the oldest gzipped, then a plain rotated copy, then the live file
  fs.writeFileSync(path.join(dir, 'miner-sn17-mainnet-out__2025-11-12_21-30-20.log.gz'), zlib.gzipSync(task('10', 'a red chair') + miner('12.000', 'Something no rule knows about')));
  fs.writeFileSync(path.join(dir, 'miner-sn17-mainnet-out__2025-11-12_21-30-40.log'), task('30', 'a blue lamp'));
  fs.writeFileSync(path.join(dir, 'miner-sn17-mainnet-out.log'), task('50', 'a green cup'));
  const data = path.join(dir, 'data');

  // a quoted glob, expanded by the collector
  const globbed = run(['--miner-log', path.join(dir, 'miner-sn17-mainnet-out*.log*'), '--data-dir', data, '--time-zone', 'UTC', '--explain-unmatched', '5']);
  expect(globbed.code).toBe(0);
  expect(globbed.out).toMatch(/^ingest: read 3 files \([\d.]+ MiB, 13 lines\) in [\d.]+ s; 3 records written, 0 already stored; /);
  expect(globbed.out).toMatch(/1 log entries about no task \(no rule took them: normal; --explain-unmatched N lists some\)/);
  expect(globbed.out).toMatch(/log entries no rule took \(file:offset, start of the message\):\n {2}\S+miner-sn17-mainnet-out__2025-11-12_21-30-20\.log\.gz:\d+ {2}Something no rule knows about\n/);
  const prompts = fs.readFileSync(path.join(data, 'generation_history.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { task: { prompt: string } }).task.prompt).sort();
  expect(prompts).toEqual(['a blue lamp', 'a green cup', 'a red chair']);

  // what a shell glob gives: several paths after one flag, newest first; nothing new to write
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('miner-')).map((f) => path.join(dir, f)).reverse();
  const again = run(['--miner-log', ...files, '--data-dir', data, '--time-zone', 'UTC']);
  expect(again.code).toBe(0);
  expect(again.out).toMatch(/read 3 files .*; 0 records written, 3 already stored;/);
});

test('--progress: a progress line on stderr (what a terminal shows by itself), then the summary on stdout', () => {
  const lines = Array.from({ length: 200 }, (_, i) =>
    miner(`${String(10 + (i % 40)).padStart(2, '0')}.${String(i).padStart(3, '0')}`, `Task received. Prompt: a chair number ${i}.`),
  ).join('');
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  fs.writeFileSync(log, lines);
  const r = run(['--miner-log', log, '--data-dir', path.join(dir, 'data'), '--time-zone', 'UTC', '--progress']);
  expect(r.code).toBe(0);
  expect(r.err).toMatch(/\ringest: [\d.]+ of [\d.]+ MiB \(\d+%\), \d+ MiB\/s, (\d+ s to go, )?[\d,]+ records \n$/);
  expect(r.out).toMatch(/^ingest: read 1 files/);
});

test('image prompts analysed on the prompt thread (the built CLI) give the records and images the tracker gives analysing them itself (TypeScript sources, no thread)', async () => {
  // 60 tasks of two loops at once, 40-160 KB image prompts logged twice (the second copy shares the
  // thread's analysis), some images repeated (a later task's prompt equal to an earlier one's), text
  // prompts, one over 256 bytes; 13 MB of log, so many reads, each held back behind the next ones
  const log = path.join(dir, 'miner-sn17-mainnet-out.log');
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const images = Array.from({ length: 12 }, () => Buffer.from(Array.from({ length: 30000 + Math.floor(rand() * 90000) }, () => Math.floor(rand() * 256))).toString('base64'));
  const at = (ms: number) => {
    const d = new Date(Date.UTC(2025, 10, 12, 21, 0, 0) + ms);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `2025-11-12 ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
  };
  const line = (ms: number, msg: string) => `${at(ms)} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;
  const lines: [number, string][] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = i * 3000 + (i % 2) * 700;
    const prompt = i % 10 === 3 ? `a chair number ${i}` : i % 10 === 7 ? `a long text prompt ${i} `.repeat(20) : images[Math.floor(rand() * images.length)]!;
    lines.push([t0, `Task received. Prompt: ${prompt}.`], [t0 + 5, `Generating for prompt: ${prompt} with timeout None seconds`]);
    lines.push([t0 + 4000, `Generation completed. Size: ${1000 + i}`]);
    // older miners named the task by its whole prompt in the feedback line
    lines.push([t0 + 4500, prompt.length <= 100 ? `Feedback received from [57]. Score: 0.8. (${prompt})` : `Feedback received from [57]. Prompt: ${prompt}. Score: 0.8`]);
  }
  fs.writeFileSync(log, lines.sort((a, b) => a[0] - b[0]).map(([ms, msg]) => line(ms, msg)).join(''));
  expect(fs.statSync(log).size).toBeGreaterThan(8 << 20);

  const threaded = path.join(dir, 'threaded');
  const r = run(['--miner-log', log, '--data-dir', threaded, '--time-zone', 'UTC']);
  expect(r.code).toBe(0);
  const inPlace = path.join(dir, 'in-place');
  await runIngest({ config: { ...defaultConfig(), dataDir: inPlace, timeZone: 'UTC' }, streams: explicitStreams([log], [], null), minerApp: 'miner-sn17-mainnet', host: 'test' });

  const records = (d: string) => fs.readFileSync(path.join(d, 'generation_history.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { metadata: { host?: string }; task: { task_type: string } });
  const a = records(threaded);
  const b = records(inPlace);
  expect(a).toHaveLength(60);
  expect(a.filter((x) => x.task.task_type === 'IMAGE-TO-3D').length).toBeGreaterThan(40);
  // the host is the machine's for the CLI, the test's here: all else the same
  expect(a.map((x) => ({ ...x, metadata: { ...x.metadata, host: null } }))).toEqual(b.map((x) => ({ ...x, metadata: { ...x.metadata, host: null } })));
  const files = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).map(String).sort() : []);
  expect(files(path.join(threaded, 'images')).length).toBeGreaterThan(5);
  expect(files(path.join(threaded, 'images'))).toEqual(files(path.join(inPlace, 'images')));
});
