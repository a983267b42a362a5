/**
 * The daemon and `ingest` writing the same tasks, in either order (issue 15, item 5): a version that
 * saw more (the feedback, the end) is written as the next revision; a version that saw less never
 * replaces one that saw more; the same version twice is written once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Daemon } from '../../src/pipeline/daemon';
import { runIngest } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig, type Config } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';

const line = (s: number, msg: string, level = 'DEBUG') => `2025-11-12 21:30:${String(s).padStart(2, '0')}.000 | ${level.padStart(11)}       | bittensor:workers.py:87 | ${msg}\n`;
const failedTask = line(0, 'Querying task from [57]. Stake: 1.0') + line(0, 'Task received. Prompt: a red chair.') + line(1, 'Generating for prompt: a red chair with timeout None seconds') + line(3, 'Generation failed with code: 500', 'ERROR');
const itsFeedback = line(6, 'Feedback received from [57]. Score: 0. (a red chair)') + line(6, 'Average score: 0.6. Accepted results (last 4h): 1. Reward: 0.01.');
const acceptedTask =
  line(10, 'Querying task from [12]. Stake: 1.0') +
  line(10, 'Task received. Prompt: a blue owl.') +
  line(11, 'Generating for prompt: a blue owl with timeout None seconds') +
  line(13, 'Generation completed. Size: 4321') +
  line(15, 'Feedback received from [12]. Score: 0.9. (a blue owl)') +
  line(15, 'Average score: 0.7. Accepted results (last 4h): 2. Reward: 0.02.');

let dir: string;
let log: string;
let config: Config;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-revisions-'));
  log = path.join(dir, 'miner-sn17-mainnet-out.log');
  config = { ...defaultConfig(), dataDir: path.join(dir, 'data'), timeZone: 'UTC', workers: [], feedbackTimeoutMinutes: 60 };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const streams = () => explicitStreams([log], [], 'miner-sn17-mainnet');
const ingest = () => runIngest({ config, streams: streams(), minerApp: 'miner-sn17-mainnet', host: 'h' });
const written = (): GenerationRecord[] => {
  const f = path.join(config.dataDir, 'generation_history.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as GenerationRecord) : [];
};
const summary = () => written().map((r) => [r.task.log_id, r.provenance.revision, r.outcome, r.validator_feedback.score, r.provenance.incomplete_reasons.join()]);

async function withDaemon(fn: () => Promise<void>): Promise<void> {
  const d = new Daemon({ config, streams: streams(), minerApp: 'miner-sn17-mainnet' });
  await d.start();
  try {
    await fn();
  } finally {
    await d.stop();
  }
}

async function until(cond: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out; written: ${JSON.stringify(summary())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('ingest -> daemon: a failed generation ingest closed at the end of its input is completed by the daemon that sees its feedback', async () => {
  fs.writeFileSync(log, failedTask);
  await ingest();
  expect(summary()).toEqual([['a red chair', 0, 'generation_failed', null, 'input_ended']]);
  await withDaemon(async () => {
    fs.appendFileSync(log, itsFeedback + acceptedTask);
    await until(() => written().length >= 3);
  });
  expect(summary()).toEqual([
    ['a red chair', 0, 'generation_failed', null, 'input_ended'],
    ['a red chair', 1, 'generation_failed', 0, ''],
    ['a blue owl', 0, 'accepted', 0.9, ''],
  ]);
});

test('daemon -> ingest: an ingest of the same logs later, or of only their start, never replaces what the daemon wrote', async () => {
  fs.writeFileSync(log, failedTask + itsFeedback + acceptedTask);
  await withDaemon(() => until(() => written().length >= 2));
  const byDaemon = summary();
  expect(byDaemon).toEqual([
    ['a red chair', 0, 'generation_failed', 0, ''],
    ['a blue owl', 0, 'accepted', 0.9, ''],
  ]);
  expect((await ingest()).records).toBe(0);
  // a copy of the log's start (before the feedback), as a backfill would read it: less complete, not written
  fs.writeFileSync(log, failedTask);
  expect((await ingest()).records).toBe(0);
  expect(summary()).toEqual(byDaemon);
});

test('a state file that is not valid is moved aside, never deleted; the daemon reads the logs again and writes nothing twice (issue 15, item 7)', async () => {
  fs.writeFileSync(log, failedTask + itsFeedback + acceptedTask);
  await withDaemon(() => until(() => written().length >= 2));
  const before = summary();
  const stateFile = path.join(config.dataDir, 'state', 'collector-state.json');
  fs.writeFileSync(stateFile, '{"version": 3, "sources": {"half'); // torn by hand or by a disk
  fs.appendFileSync(log, line(40, 'Querying task from [12]. Stake: 1.0') + line(40, 'Task received. Prompt: a green cup.') + line(41, 'Generating for prompt: a green cup with timeout None seconds') + line(43, 'Generation completed. Size: 99') + line(45, 'Feedback received from [12]. Score: 0.5. (a green cup)') + line(45, 'Average score: 0.7. Accepted results (last 4h): 3. Reward: 0.02.'));
  await withDaemon(() => until(() => written().length >= 3));
  expect(summary()).toEqual([...before, ['a green cup', 0, 'accepted', 0.5, '']]);
  const aside = fs.readdirSync(path.dirname(stateFile)).filter((n) => n.startsWith('collector-state.json.corrupt-'));
  expect(aside).toHaveLength(1);
  expect(fs.readFileSync(path.join(path.dirname(stateFile), aside[0]!), 'utf8')).toBe('{"version": 3, "sources": {"half');
});
