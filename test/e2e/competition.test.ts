/**
 * Competition mode under a real PM2: a real round of the active competition (mesh, round 1) replayed
 * now, commit by commit, from the state repository's real history (test/fixtures/competition/), while
 * the base miner's generation service (a fake with its real lines, a PM2 app) answers a fake driver
 * that saves one GLB per real prompt of the round for a real hotkey. The collector (a PM2 app, fetching
 * the state clone every 1.2 s) must give every generation its round at once, then, as the commits land,
 * what the validators downloaded, its duel as the repository says it, and the round's winner; and
 * `analyze --round 1` / `export --pairs` must agree with the repository's own files. The collector is
 * SIGKILLed once between two commits: PM2 starts it again and it goes on from its state.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fixedPlan } from '../fixtures/fake-miner/plan';
import { Pm2Harness, REPO, ensureFakesBuilt } from '../harness/pm2-harness';
import { collectorApp, until } from './collector';
import { latest, readRecords } from '../helpers/truth-match';
import { ACTIVE_COMPETITION_BUNDLE } from '../helpers/state-repo-replay';
import { redatedReplay, type RedatedReplay } from '../helpers/competition-run';
import type { DriverPlan } from '../fixtures/fake-generation/driver';
import type { GenerationRecord } from '../../src/schema';

jest.retryTimes(process.env.FAKE_MINER_KEEP ? 0 : 1, { logErrorsBeforeRetry: true });

/** 70 of its 128 outputs were downloaded in round 1: downloads, misses, wins, draws and losses. */
const HOTKEY = '5DxxAjWNrCKFgrWpZ6q1xe3bXTVAvCDZM4HoPpJGh4Pof8mx';
const FAKE = path.join(REPO, 'dist', 'test', 'fixtures', 'fake-generation');
const PORT = 18094 + (process.pid % 500);

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function runDriver(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path.join(FAKE, 'driver.js'), ...args], { timeout: 120_000 }, (err, _out, stderr) => (err ? reject(new Error(`driver: ${err.message}\n${stderr}`)) : resolve())),
  );
}

function cli(h: Pm2Harness, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), ...args], { env: h.env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const withStem = (rs: GenerationRecord[]) => latest(rs).filter((r) => r.competition?.stem);

describe('competition mode under PM2', () => {
  let h: Pm2Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it('links every generation to its round, then its download, duel and round winner as the real commits land', async () => {
    ensureFakesBuilt('fake-generation');
    h = await Pm2Harness.create({ plan: fixedPlan(), mode: 'plain' });
    const tmp = path.join(h.root, 'competition');
    fs.mkdirSync(tmp);
    // the source history up to the round's open stage, with its own dates; the rest is pushed as the test goes
    const replay: RedatedReplay = redatedReplay(ACTIVE_COMPETITION_BUNDLE, tmp, /^Update state \(open\), schedule, leader for round 1/);
    const stage = replay.find(/^Seed, prompts and submissions for round 1/);
    const downloading = replay.find(/^Round 1: downloading/, stage);
    const duels = replay.find(/^Round 1: duels/, downloading);
    const report = replay.find(/Match report: leader vs 5DxxAjWNrC/, duels);
    const winner = replay.find(/^Round 1 winner: leader/, report);

    const dataDir = path.join(h.root, 'data');
    const outputDir = path.join(h.root, 'outputs', 'round');
    fs.mkdirSync(dataDir);
    const configFile = path.join(h.root, 'collector.config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ dataDir, timeZone: 'UTC', competition: { stateRepo: replay.local, hotkey: HOTKEY, outputDir, generationApp: 'generation', fetchMinutes: 0.02 } }),
    );
    await h.startApps([
      h.app({ name: 'generation', script: path.join(FAKE, 'service.js'), args: ['--port', String(PORT), '--output', 'glb'] }, false),
      collectorApp(h, configFile),
    ]);
    await until('the generation service', () => healthy(PORT), 30_000);

    // the generation stage opens now; the driver makes the hotkey's outputs of the round's real prompts
    replay.pushTo(stage);
    const finalSubmitted = JSON.parse(replay.show(winner, `rounds/1/${HOTKEY}/submitted.json`)) as Record<string, { glb: string | null; size: number }>;
    const downloaded = (stem: string) => (finalSubmitted[stem]?.size ?? 0) > 0 && finalSubmitted[stem]?.glb != null;
    const stems = replay.show(stage, 'rounds/1/prompts.txt').split('\n').filter(Boolean).map((u) => path.basename(u).replace(/\.[^.]+$/, ''));
    expect(stems).toHaveLength(128);
    // of the prompts the validators found nothing for, every other one failed at the service, the rest never reached the CDN
    let missed = 0;
    const plan: DriverPlan = { seed: 3274970996, prompts: stems.map((stem) => ({ stem, fail: !downloaded(stem) && missed++ % 2 === 0, generationMs: 40 })) };
    const failing = plan.prompts.filter((p) => p.fail).length;
    const planFile = path.join(h.root, 'driver-plan.json');
    fs.writeFileSync(planFile, JSON.stringify(plan));
    await sleepPast(1000); // the stage's commit has whole-second time: the first file comes after it
    await runDriver(['--port', String(PORT), '--out', outputDir, '--ext', 'glb', '--plan', planFile]);
    const files = 128 - failing;
    await until('a record of every output and every failed request', () => latest(readRecords(dataDir)).length >= 128, 60_000);

    let rs = withStem(readRecords(dataDir));
    expect(rs).toHaveLength(files);
    for (const r of rs) {
      expect(r.competition).toMatchObject({ name: 'mesh', round: 1, round_by: 'generation_stage', seed: 3274970996, hotkey: HOTKEY, submitted: null, duel: null });
      expect(r.outcome).toBe('no_feedback');
      expect(r.generation.timing.total_time).not.toBeNull();
      expect(r.provenance.links.find((l) => l.event === 'output_written')?.link).toBe('determined');
    }
    const failed = latest(readRecords(dataDir)).filter((r) => r.competition && r.competition.stem === null);
    expect(failed).toHaveLength(failing);
    for (const r of failed) {
      expect(r.failure_analysis).toMatchObject({ failed: true, error_type: 'exception', error_message: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB' });
      expect(r).toMatchObject({ outcome: 'generation_failed', competition: { round: 1, round_by: 'generation_stage', output_file: null } });
    }

    // downloads: revisions as submitted.json is written and rewritten (the validators list a few dozen prompts at a time)
    replay.pushTo(duels - 1);
    const listedThen = Object.keys(JSON.parse(replay.show(duels - 1, `rounds/1/${HOTKEY}/submitted.json`)) as object);
    const ours = new Set(rs.map((r) => r.competition!.stem));
    const expectListed = listedThen.filter((stem) => ours.has(stem)).sort();
    expect(expectListed.length).toBeLessThan(files);
    await until('the first downloads', () => withStem(readRecords(dataDir)).filter((r) => r.competition!.submitted !== null).length === expectListed.length, 60_000);
    expect(withStem(readRecords(dataDir)).filter((r) => r.competition!.submitted !== null).map((r) => r.competition!.stem).sort()).toEqual(expectListed);
    // the collector killed between two commits: PM2 starts it again, and it goes on from its state
    const before = (await h.status()).find((x) => x.name === 'data-collector')!;
    process.kill(before.pid, 'SIGKILL');
    replay.pushTo(duels);
    await until('PM2 to restart the collector', async () => ((await h!.status()).find((x) => x.name === 'data-collector')?.restarts ?? 0) === 1, 30_000);
    await until('every download', () => withStem(readRecords(dataDir)).every((r) => r.competition!.submitted !== null), 60_000);
    rs = withStem(readRecords(dataDir));
    expect(rs.every((r) => r.validator_feedback.received === false)).toBe(true);

    // the duels stage: nothing judged for this hotkey until its match report lands
    replay.pushTo(report - 1);
    await until('the clone at the commit before the report', () => gitHead(replay.local) === gitHead(replay.upstream), 30_000);
    await sleepPast(2500);
    expect(withStem(readRecords(dataDir)).some((r) => r.validator_feedback.received)).toBe(false);
    replay.pushTo(report);
    await until('the duels', () => withStem(readRecords(dataDir)).every((r) => r.competition!.duel !== null), 60_000);

    replay.pushTo(winner);
    await until("the round's winner", () => withStem(readRecords(dataDir)).every((r) => r.competition!.round_winner === 'leader'), 60_000);

    // every generation as the repository's own files say
    const raw = JSON.parse(replay.show(winner, `rounds/1/${HOTKEY}/duels_leader.json`)) as { right: string; duels: { name: string; winner: 'left' | 'right' | 'draw'; issues: string; left_glb: string | null }[] };
    expect(raw.right).toBe(HOTKEY);
    const byStem = new Map(raw.duels.map((d) => [d.name, d]));
    rs = withStem(readRecords(dataDir));
    let won = 0;
    let judged = 0;
    for (const r of rs) {
      const c = r.competition!;
      const d = byStem.get(c.stem!)!;
      const want = d.winner === 'right' ? 'miner' : d.winner === 'left' ? 'opponent' : 'draw';
      expect(c.duel).toMatchObject({ opponent: 'leader', winner: want, issues: d.issues, opponent_output_url: d.left_glb });
      expect(r.validator_feedback).toMatchObject({ received: true, score: { miner: 1, draw: 0.5, opponent: 0 }[want], accepted: want === 'miner' });
      expect(r.generation.submission.submitted).toBe(downloaded(c.stem!));
      expect(r.outcome).toBe(!downloaded(c.stem!) ? 'submit_failed' : want === 'miner' ? 'accepted' : 'rejected');
      judged++;
      if (want === 'miner') won++;
    }
    // every revision of a generation is one line; each step of the verdict added one
    const all = readRecords(dataDir).filter((r) => r.competition?.stem);
    const revisions = new Map<string, number>();
    for (const r of all) revisions.set(r.metadata.generation_id, Math.max(revisions.get(r.metadata.generation_id) ?? 0, r.provenance.revision));
    expect(Math.min(...revisions.values())).toBeGreaterThanOrEqual(3); // round at once, then download, duel, winner

    const analysis = cli(h, ['analyze', '--duels', '--round', '1', '--data-dir', dataDir, '--json']);
    expect(analysis.code).toBe(0);
    const duelsDoc = (JSON.parse(analysis.out) as { duels: { generations: number; judged: number; won: number; win_rate: number; by_round: { round: number; won: number }[] } }).duels;
    expect(duelsDoc).toMatchObject({ generations: 128, judged, won, generation_failed: failing, not_downloaded: files - rs.filter((r) => downloaded(r.competition!.stem!)).length });
    expect(duelsDoc.by_round).toEqual([expect.objectContaining({ competition: 'mesh', round: 1, won })]);
    const text = cli(h, ['analyze', '--round', '1', '--data-dir', dataDir]);
    expect(text.out).toContain('Duels (competition mode)');
    const reportFile = path.join(h.root, 'report.html');
    expect(cli(h, ['analyze', '--round', '1', '--report', reportFile, '--data-dir', dataDir]).code).toBe(0);
    const html = fs.readFileSync(reportFile, 'utf8');
    expect(html).toContain('data-section="duels"');
    expect(html).toMatch(new RegExp(`<th scope="row">mesh 1</th><td>128</td><td>${judged}</td><td>${won}</td>`));

    const pairsFile = path.join(h.root, 'won.jsonl');
    const exported = cli(h, ['export', '--pairs', '--accepted-only', '--output', pairsFile, '--data-dir', dataDir, '--json']);
    expect(exported.code).toBe(0);
    const pairs = fs.readFileSync(pairsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stem: string; winner: string; output_path: string; prompt_url: string; opponent_output_url: string | null });
    expect(pairs).toHaveLength(won);
    for (const p of pairs) {
      expect(p.winner).toBe('miner');
      expect(p.output_path).toBe(path.join(outputDir, `${p.stem}.glb`));
      expect(p.prompt_url).toMatch(new RegExp(`/${p.stem}\\.png$`));
    }
    // a won prompt's file written again (a carry-over prompt next round) is not the output that won
    fs.appendFileSync(path.join(outputDir, `${pairs[0]!.stem}.glb`), 'next round');
    expect(cli(h, ['export', '--pairs', '--accepted-only', '--output', pairsFile, '--data-dir', dataDir]).code).toBe(0);
    const again = fs.readFileSync(pairsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stem: string; output_path: string | null });
    expect(again.find((p) => p.stem === pairs[0]!.stem)!.output_path).toBeNull();

    const collector = (await h.status()).find((s) => s.name === 'data-collector')!;
    expect(collector).toMatchObject({ status: 'online', restarts: 1 });
    // nothing written twice across the kill: one line per (generation, revision)
    const keys = readRecords(dataDir).map((r) => `${r.metadata.generation_id}#${r.provenance.revision}`);
    expect(new Set(keys).size).toBe(keys.length);
  }, 300_000);
});

function gitHead(dir: string): string {
  return spawnSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
}

const sleepPast = (ms: number) => new Promise((r) => setTimeout(r, ms));
