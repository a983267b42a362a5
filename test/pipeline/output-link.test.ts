/**
 * Linking output files to generations, on hand-made logs and real PLY fixtures through `ingest`:
 * by the time a file was written, by the path a worker line names, by the size the miner logged,
 * by a time in the file name; a bad file is recorded as such; a file no generation explains is counted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIngest, type IngestSummary } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig, type Config } from '../../src/config';
import { GenerationRecordSchema, type GenerationRecord } from '../../src/schema';
import type { OutputDirSpec } from '../../src/sources';

const FIXTURES = path.resolve(__dirname, '../fixtures/ply');
const MONKEY = path.join(FIXTURES, 'monkey.ply'); // 36,039 Gaussians
const HAMBURGER = path.join(FIXTURES, 'hamburger.ply'); // 52,709 Gaussians
const size = (f: string) => fs.statSync(f).size;
const RULES = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as unknown;

const at = (s: string) => Date.UTC(2025, 10, 12, 21, 30, 0) + Number(s) * 1000;
const miner = (s: string, msg: string) => `2025-11-12 21:30:${s.padStart(6, '0')} |      DEBUG       | bittensor:workers.py:87 | ${msg}\n`;
const worker = (s: string, msg: string) => `2025-11-12 21:30:${s.padStart(6, '0')} | INFO     | pipeline:trellis:183 - ${msg}\n`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-output-link-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of a fixture in an output dir, with its mtime set (seconds past 21:30:00). */
function plyAt(group: string, name: string, from: string | Buffer, s: string): string {
  const p = path.join(dir, 'outputs', group, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (typeof from === 'string') fs.copyFileSync(from, p);
  else fs.writeFileSync(p, from);
  fs.utimesSync(p, at(s) / 1000, at(s) / 1000);
  return p;
}

async function ingest(
  minerText: string,
  workerTexts: Record<string, string>,
  over: Partial<Config> = {},
): Promise<{ summary: IngestSummary; records: GenerationRecord[]; config: Config }> {
  const minerLog = path.join(dir, 'miner-sn17-mainnet-out.log');
  fs.writeFileSync(minerLog, minerText);
  const workerLogs = Object.entries(workerTexts).map(([g, text]) => {
    const f = path.join(dir, `${g}-error.log`);
    fs.writeFileSync(f, text);
    return `${g}=${f}`;
  });
  const groups = ['g1', 'g2'];
  const outputDirs: OutputDirSpec[] = groups.map((g) => ({ dir: path.join(dir, 'outputs', g), group: g }));
  const config: Config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', workers: [], ...over };
  const summary = await runIngest({
    config,
    streams: explicitStreams([minerLog], workerLogs, 'miner-sn17-mainnet'),
    outputDirs,
    minerApp: 'miner-sn17-mainnet',
    rulesFile: RULES,
    host: 'h',
  });
  const file = path.join(config.dataDir, 'generation_history.jsonl');
  const records = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GenerationRecord) : [];
  for (const r of records) expect(GenerationRecordSchema.safeParse(r).success).toBe(true);
  return { summary, records, config };
}

const byPrompt = (records: GenerationRecord[], prompt: string) => records.find((r) => r.task.prompt === prompt)!;
const plyLink = (r: GenerationRecord) => r.provenance.links.find((l) => l.event === 'ply_written');
const plyFile = (r: GenerationRecord) => r.provenance.sources.find((s) => s.event === 'ply_written')?.file ?? null;

/** Two tasks on two endpoints, generating at once; nothing in the miner's lines says which ran where. */
function twoTasks(endA: string, endB: string): string {
  return (
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('40.500', 'Task received. Prompt: a blue lamp.') +
    miner('40.600', 'Generating for prompt: a blue lamp with timeout None seconds') +
    endA +
    endB +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)') +
    miner('58.500', 'Feedback received from [58]. Score: 0.9. (a blue lamp)')
  );
}

test('by size: two tasks ended, two files after both ends; the miner\'s Size figures say which is which', async () => {
  const text = twoTasks(
    miner('50.000', `Generation completed. Size: ${size(MONKEY)}`),
    miner('50.500', `Generation completed. Size: ${size(HAMBURGER)}`),
  );
  // written after both ends (a worker that saves after answering): time alone would give the first to the oldest task
  plyAt('g2', 'b.ply', HAMBURGER, '51.000');
  plyAt('g1', 'a.ply', MONKEY, '51.200');
  const { summary, records } = await ingest(text, {});
  expect(summary.outputFiles).toBe(2);
  const chair = byPrompt(records, 'a red chair');
  const lamp = byPrompt(records, 'a blue lamp');
  expect(chair.generation.output.num_gaussians).toBe(36039);
  expect(lamp.generation.output.num_gaussians).toBe(52709);
  expect(path.basename(plyFile(chair)!)).toBe('a.ply');
  expect(path.basename(plyFile(lamp)!)).toBe('b.ply');
});

test('by time: a file written while one task was generating on that worker is its own, exactly', async () => {
  const text =
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('50.000', `Generation completed. Size: ${size(MONKEY)}`) +
    miner('51.000', 'Task received. Prompt: a blue lamp.') +
    miner('51.100', 'Generating for prompt: a blue lamp with timeout None seconds') +
    miner('57.000', 'Generation completed. Size: 10') +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)') +
    miner('59.000', 'Feedback received from [58]. Score: 0. (a blue lamp)');
  plyAt('g1', 'one.ply', MONKEY, '49.500');
  plyAt('g1', 'two.ply', HAMBURGER, '56.000');
  const { records } = await ingest(text, {});
  const chair = byPrompt(records, 'a red chair');
  const lamp = byPrompt(records, 'a blue lamp');
  expect(plyLink(chair)).toEqual({ event: 'ply_written', link: 'determined', candidates: 1 });
  expect(path.basename(plyFile(chair)!)).toBe('one.ply');
  expect(path.basename(plyFile(lamp)!)).toBe('two.ply');
  // the file's own size wins over the miner's figure
  expect(lamp.generation.output.file_size_bytes).toBe(size(HAMBURGER));
  // accepted: kept; rejected: not kept
  expect(chair.generation.output.ply_file_path).toMatch(/^ply_files\/.+\.ply$/);
  expect(lamp.generation.output.ply_file_path).toBeNull();
  expect(lamp.provenance.blobs_skipped).toEqual([]);
});

test('by the path a worker line names, even when the file\'s mtime says nothing (copied later)', async () => {
  const text =
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('50.000', `Generation completed. Size: ${size(MONKEY)}`) +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)');
  const workerText =
    worker('40.200', 'Request received: text prompt (11 chars)') +
    worker('49.800', 'Gaussians: 36039, PLY 1.93 MB -> /srv/outputs/gen_1731447068_7f3a.ply');
  // the collector sees the worker's directory under another mount, and the file got a later mtime
  plyAt('g1', 'gen_1731447068_7f3a.ply', MONKEY, '300.000');
  const { summary, records } = await ingest(text, { g1: workerText });
  const chair = byPrompt(records, 'a red chair');
  expect(summary.outputFilesWithoutTask).toBe(0);
  expect(plyLink(chair)).toEqual({ event: 'ply_written', link: 'determined', candidates: 1 });
  expect(chair.generation.output.ply_file_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
});

test('by a time in the file name (namePattern unix_ms) instead of an mtime that is off', async () => {
  const text =
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('50.000', `Generation completed. Size: ${size(MONKEY)}`) +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)');
  plyAt('g1', `out_${at('49.000')}.ply`, MONKEY, '900.000');
  const output = { ...defaultConfig().output, namePattern: '^out_(?<unix_ms>\\d+)\\.ply$' };
  const { records } = await ingest(text, {}, { output });
  expect(path.basename(plyFile(byPrompt(records, 'a red chair'))!)).toBe(`out_${at('49.000')}.ply`);
});

test('a bad PLY is recorded as such (ply_error), not kept, and the record stays valid', async () => {
  const text =
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('50.000', 'Generation completed. Size: 5000') +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)');
  const truncated = fs.readFileSync(MONKEY).subarray(0, 5000);
  plyAt('g1', 'broken.ply', truncated, '49.000');
  const { summary, records } = await ingest(text, {});
  const chair = byPrompt(records, 'a red chair');
  expect(summary.invalid).toBe(0);
  expect(chair.outcome).toBe('accepted');
  expect(chair.generation.output.ply_error).toMatch(/truncated|ends|short|expected/i);
  expect(chair.generation.output.ply_file_hash).toBeNull();
  expect(chair.generation.output.ply_file_path).toBeNull();
  expect(chair.generation.output.file_size_bytes).toBe(5000);
});

test('a file no generation explains is counted and changes no record', async () => {
  const text =
    miner('40.000', 'Task received. Prompt: a red chair.') +
    miner('40.100', 'Generating for prompt: a red chair with timeout None seconds') +
    miner('50.000', `Generation completed. Size: ${size(MONKEY)}`) +
    miner('58.000', 'Feedback received from [57]. Score: 0.8. (a red chair)');
  plyAt('g1', 'stray.ply', MONKEY, '20.000'); // before the task started
  plyAt('g1', 'late.ply', MONKEY, '56.000'); // after its end and the 5 s link window
  const { summary, records } = await ingest(text, {});
  expect(summary.outputFiles).toBe(0);
  expect(summary.outputFilesWithoutTask).toBe(2);
  expect(byPrompt(records, 'a red chair').generation.output.ply_file_hash).toBeNull();
  expect(fs.existsSync(path.join(dir, 'data', 'ply_files'))).toBe(false);
});
