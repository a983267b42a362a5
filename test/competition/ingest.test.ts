/**
 * Competition mode without PM2: the generation service's log and the driver's outputs of a real
 * round (competition 0, Gaussian splats as real PLYs), read by `ingest` against a clone of the real
 * state repository at its last commit: every generation gets its round, download and duel as the
 * repository's own files say; a second ingest writes nothing new; `doctor` checks the config.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { cloneBundle, COMPETITION_0_BUNDLE, gitSync } from '../helpers/state-repo-replay';
import { runIngest } from '../../src/pipeline/ingest';
import { configuredStreams, outputDirsOf } from '../../src/pipeline/inputs';
import { ConfigSchema } from '../../src/config/config';
import { runChecks } from '../../src/cli/doctor';
import { latest, readRecords } from '../helpers/truth-match';
import { loguru } from '../parse/helpers';
import { silentLogger } from '../../src/common/logger';

/** A round-2 miner of competition 0 whose match has wins, draws and losses. */
const HOTKEY = '5CAgtbj1SV88PRrP3toyWFKTtuTDk1sfs9JPbTi5kM1fbHjN';
const MONKEY = path.join(__dirname, '..', 'fixtures', 'ply', 'monkey.ply');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-competition-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const text = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

test('ingest gives each real prompt of a round its generation stage, download and duel; a second ingest adds nothing', async () => {
  const origin = path.join(dir, 'origin.git');
  cloneBundle(COMPETITION_0_BUNDLE, origin, true);
  const stateRepo = path.join(dir, 'state');
  execFileSync('git', ['clone', '-q', origin, stateRepo]);

  // round 2's generation stage, as state.json's history says
  const stages = gitSync(stateRepo, ['log', '--first-parent', '--reverse', '--format=%ct %s', '--', 'state.json']).split('\n');
  const opened = stages.find((l) => /Update state \(generating\) and submissions for round 2/.test(l))!;
  const stageMs = Number(opened.split(' ')[0]) * 1000;
  const duels = JSON.parse(gitSync(stateRepo, ['show', `HEAD:rounds/2/${HOTKEY}/duels.json`])) as { duels: { name: string; winner: string; issues: string }[] };
  const generations = JSON.parse(gitSync(stateRepo, ['show', `HEAD:rounds/2/${HOTKEY}/generations.json`])) as Record<string, { size: number }>;
  const stems = gitSync(stateRepo, ['show', 'HEAD:rounds/2/prompts.txt']).split('\n').filter(Boolean).map((u) => path.basename(u).replace(/\.[^.]+$/, ''));
  expect(stems.length).toBeGreaterThan(100);

  // the service's lines and the driver's files, one prompt every 10 s from 5 min into the stage
  const logFile = path.join(dir, 'generation-error.log');
  const outputDir = path.join(dir, 'outputs');
  fs.mkdirSync(outputDir);
  const lines: string[] = [];
  stems.forEach((stem, i) => {
    const t = stageMs + 300_000 + i * 10_000;
    lines.push(loguru('Task received. Prompt-Image', { time: text(t), where: '__main__:generate_model:107' }));
    lines.push(loguru('Model Generation took: 6.5 secs.', { time: text(t + 6500), level: 'DEBUG', where: '__main__:generation_block:63' }));
    lines.push(loguru('Garbage Collection took: 0.1 secs', { time: text(t + 6600), level: 'DEBUG', where: '__main__:generation_block:68' }));
    lines.push(loguru('Task completed.', { time: text(t + 6700), where: '__main__:generate_model:115' }));
    const file = path.join(outputDir, `${stem}.ply`);
    fs.copyFileSync(MONKEY, file);
    fs.utimesSync(file, (t + 7000) / 1000, (t + 7000) / 1000);
  });
  fs.writeFileSync(logFile, `${lines.join('\n')}\n`);

  const dataDir = path.join(dir, 'data');
  const config = ConfigSchema.parse({ dataDir, timeZone: 'UTC', competition: { stateRepo, hotkey: HOTKEY, outputDir, logs: [logFile], fetchMinutes: 0 } });
  const streams = await configuredStreams(config, silentLogger);
  expect(streams).toEqual([expect.objectContaining({ role: 'generation', app: 'generation', file: logFile })]);
  const ingest = () => runIngest({ config, streams, outputDirs: outputDirsOf(config, streams, []), minerApp: 'generation', host: 'test-host' });
  const first = await ingest();
  expect(first.outputFiles).toBe(stems.length);

  const records = latest(readRecords(dataDir));
  expect(records).toHaveLength(stems.length);
  const winners = new Map(duels.duels.map((d) => [d.name, d]));
  const tally = { miner: 0, leader: 0, draw: 0 };
  for (const r of records) {
    const c = r.competition!;
    expect(c).toMatchObject({ name: 'contest', round: 2, round_by: 'generation_stage', hotkey: HOTKEY });
    expect(c.rounds_with_prompt).toContain(2);
    const d = winners.get(c.stem!)!;
    tally[d.winner as keyof typeof tally]++;
    expect(c.duel).toMatchObject({ winner: d.winner === 'miner' ? 'miner' : d.winner === 'leader' ? 'opponent' : 'draw', issues: d.issues });
    expect(r.generation.submission.submitted).toBe((generations[c.stem!]?.size ?? 0) > 0);
    expect(r.generation.output.num_gaussians).toBeGreaterThan(0); // a real PLY, measured
    expect(c.output_hash).toBe(r.generation.output.ply_file_hash);
    expect(r.generation.timing).toMatchObject({ total_time: 6.7, model_generation_time: 6.5, garbage_collection_time: 0.1 });
  }
  // the match as the repository scores it, from the miner's side
  expect(records[0]!.competition!.match!.score).toBe(tally.miner - tally.leader);
  expect(tally.miner + tally.leader).toBeGreaterThan(0);

  const second = await ingest();
  expect(second.records).toBe(0);
  expect(readRecords(dataDir)).toHaveLength(records.length + records.filter((r) => r.provenance.revision > 0).length);

  // doctor: the clone, the hotkey, the output dir
  const checks = await runChecks(config, undefined);
  const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
  expect(byName['state repository']).toMatchObject({ ok: true });
  expect(byName['state repository read']).toMatchObject({ ok: true });
  expect(byName['state repository read']!.detail).toContain('competition contest');
  expect(byName['hotkey in the submissions']!.detail).toContain('round(s) 2');
  expect(byName['output dir of the generation driver']).toMatchObject({ ok: true });
  const wrong = await runChecks(ConfigSchema.parse({ ...config, competition: { ...config.competition, hotkey: '5' + 'A'.repeat(47), stateRepo: outputDir } }), undefined);
  const w = Object.fromEntries(wrong.map((c) => [c.name, c]));
  expect(w['state repository']).toMatchObject({ ok: false });
  expect(w['state repository']!.fix).toContain('git clone');
}, 60_000);
