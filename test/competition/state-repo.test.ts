/**
 * The competition state repository read from the two real histories (test/fixtures/competition/):
 * facts checked against the raw files (read here with `git show`, counted independently), the round
 * of a generation, a replay of the validators' pushes with refreshes, a file of an unknown shape, and
 * a rewritten upstream. Real git in temp dirs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  combineAudit,
  generationStageSpans,
  parseMatch,
  parsePrompts,
  parseSubmitted,
  roundOfGeneration,
  type CompetitionFacts,
  type FileVersion,
  type RoundFacts,
} from '../../src/parse/competition-state';
import { isGitClone, readCompetitionFacts, refreshStateRepo, StateRepoError } from '../../src/sources/state-repo';
import {
  ACTIVE_COMPETITION_BUNDLE,
  COMPETITION_0_BUNDLE,
  cloneBundle,
  commitEdit,
  commitMs,
  createReplay,
  gitSync,
} from '../helpers/state-repo-replay';

/** Competition 1: duels in rounds 0 and 1, audited (passed) in round 1. */
const MESH_MINER = '5GgVxYJS3RsZtdhCVkW9DwBcjojAkcSpZXz6AnefsThrhPJf';
/** Competition 1: round 0 against the leader and four other challengers; generation audit rejected. */
const MESH_CHALLENGER = '5FP3qpaSyRrmpEcFstA3NbCDFvRB6GErTrwTX93zNPJvwXfr';
/** Competition 1: round 0's winner (matches against the leader and five others, audit passed). */
const MESH_WINNER = '5GgpGaDxzTyBAME1Ju9ZhUstWj2VTm1n4tAUkRHLi4birQZg';
/** Competition 1: only a failed source audit (repository not found) in round 0. */
const MESH_NO_REPO = '5CfW6cxF7S7dzFanK1uv2pEdRS251cZMLqn6w9R8FmYTUBou';
/** Competition 0: duels in all four rounds, against `leader` and against hotkeys holding the lead. */
const SPLAT_MINER = '5FqZqKgJKbXQ1D73WbMBhiicwoEYUZaWSFX9TZo9C8vgeUnx';
/** Competition 0: won its round 0 match (challenger_wins). */
const SPLAT_CHALLENGER = '5EqNLQBYYWMcHdid25TEDGUdgT67ZGLB49QvczcKs5rH58Hh';

let tmp: string;
let splat: string;
let mesh: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'state-repo-'));
  splat = cloneBundle(COMPETITION_0_BUNDLE, path.join(tmp, 'competition-0.git'), true);
  mesh = cloneBundle(ACTIVE_COMPETITION_BUNDLE, path.join(tmp, 'active-competition.git'), true);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// --- the raw files, read independently of the code under test --------------------------------

function rawJson(repo: string, file: string, commit = 'main'): Record<string, unknown> {
  return JSON.parse(gitSync(repo, ['show', `${commit}:${file}`])) as Record<string, unknown>;
}

function treePaths(repo: string, commit = 'main'): string[] {
  return gitSync(repo, ['ls-tree', '-r', '--name-only', commit]).split('\n');
}

/** Committer time (ms) of the newest commit that added `file`. */
function addedMs(repo: string, file: string): number {
  const newest = gitSync(repo, ['log', '--first-parent', '--diff-filter=A', '--format=%ct', 'main', '--', file]).split('\n')[0];
  return Number(newest) * 1000;
}

interface RawDuel {
  winner: string;
}

/** Wins, losses and draws of `hotkey` in a raw duel file, and its opponent, by each competition's keys. */
function countRaw(raw: Record<string, unknown>, hotkey: string) {
  const duels = raw.duels as RawDuel[];
  let mine: string;
  let theirs: string;
  let opponent: string;
  if ('left' in raw) {
    mine = raw.right === hotkey ? 'right' : 'left';
    theirs = mine === 'right' ? 'left' : 'right';
    opponent = raw[theirs] as string;
  } else {
    mine = raw.hotkey === hotkey ? 'miner' : 'leader';
    theirs = mine === 'miner' ? 'leader' : 'miner';
    opponent = (mine === 'miner' ? raw.leader : raw.hotkey) as string;
  }
  return {
    won: duels.filter((d) => d.winner === mine).length,
    lost: duels.filter((d) => d.winner === theirs).length,
    draw: duels.filter((d) => d.winner === 'draw').length,
    total: duels.length,
    opponent,
  };
}

function roundOf(facts: CompetitionFacts, round: number): RoundFacts {
  const r = facts.rounds.find((x) => x.round === round);
  if (!r) throw new Error(`no round ${round} in the facts`);
  return r;
}

/** Every per-round fact of `hotkey` against the raw files of the repository's last commit. */
async function checkAgainstRaw(repo: string, hotkey: string): Promise<{ matches: number }> {
  const facts = await readCompetitionFacts(repo, hotkey);
  const paths = treePaths(repo);
  expect(facts.commit).toBe(gitSync(repo, ['rev-parse', 'main']));
  expect(facts.notUnderstood).toEqual([]);
  const roundsInTree = [...new Set(paths.flatMap((p) => /^rounds\/(\d+)\//.exec(p)?.[1] ?? []))].map(Number);
  let matches = 0;
  for (const n of roundsInTree) {
    const round = roundOf(facts, n);
    const dir = `rounds/${n}`;
    const has = (f: string) => paths.includes(`${dir}/${f}`);

    const duelFiles = paths.filter((p) => p.startsWith(`${dir}/${hotkey}/duels`));
    expect(round.matches.map((m) => m.file).sort()).toEqual([...duelFiles].sort());
    for (const file of duelFiles) {
      const want = countRaw(rawJson(repo, file), hotkey);
      const match = round.matches.find((m) => m.file === file)!;
      const got = (w: string) => match.duels.filter((d) => d.winner === w).length;
      expect({ file, won: got('miner'), lost: got('opponent'), draw: got('draw'), total: match.duels.length }).toEqual({
        file,
        won: want.won,
        lost: want.lost,
        draw: want.draw,
        total: want.total,
      });
      expect(match.opponent).toBe(want.opponent);
      expect(match.duels.every((d) => d.opponent === want.opponent)).toBe(true);
      // The miner's view: positive when it won more duels than it lost.
      expect(Math.sign(match.score!)).toBe(Math.sign(want.won - want.lost));
      expect(match.score).toBe(want.won - want.lost);
      expect(match.margin).toBeCloseTo((want.won - want.lost) / want.total, 12);
      expect(match.seenMs).toBe(addedMs(repo, file));
      matches++;
    }

    const submittedFile = ['submitted.json', 'generations.json'].map((f) => `${dir}/${hotkey}/${f}`).find((p) => paths.includes(p));
    if (submittedFile) {
      const raw = rawJson(repo, submittedFile) as Record<string, Record<string, string | null>>;
      expect(Object.keys(round.submitted ?? {}).length).toBe(Object.keys(raw).length);
      const [stem, entry] = Object.entries(raw)[0]!;
      expect(round.submitted![stem]!.outputUrl).toBe(entry.glb ?? entry.ply ?? null);
      expect(round.submittedSeenMs).toBe(addedMs(repo, submittedFile));
    } else {
      expect(round.submitted).toBeNull();
    }

    expect(round.winner?.hotkey ?? null).toBe(has('winner.json') ? rawJson(repo, `${dir}/winner.json`).winner_hotkey : null);
    expect(round.registered).toBe(has('submissions.json') && hotkey in rawJson(repo, `${dir}/submissions.json`));

    const generation = has('generation_audits.json')
      ? (rawJson(repo, `${dir}/generation_audits.json`)[hotkey] as Record<string, unknown> | undefined)
      : undefined;
    const source = has('source_audit.json')
      ? (rawJson(repo, `${dir}/source_audit.json`) as unknown as Record<string, unknown>[]).find((e) => e.hotkey === hotkey)
      : undefined;
    expect(round.audit?.outcome ?? null).toBe(generation?.outcome ?? source?.verdict ?? null);
    if (generation) {
      expect(round.audit!.failedPrompts).toBe(generation.failed_prompts);
      expect(round.audit!.checkedPrompts).toBe(generation.checked_prompts);
    }

    const prompts = has('prompts.txt') ? gitSync(repo, ['show', `main:${dir}/prompts.txt`]).split('\n').filter(Boolean) : [];
    expect(round.prompts.map((p) => p.url)).toEqual(prompts);
    if (has('prompts.txt')) expect(round.promptsSeenMs).toBe(addedMs(repo, `${dir}/prompts.txt`));
    expect(round.seed).toBe(has('seed.json') ? rawJson(repo, `${dir}/seed.json`).seed : null);
  }
  return { matches };
}

describe('facts at the last commit agree with the raw files', () => {
  test('competition 1 (mesh): duels left/right turned to the miner, submitted, audits, winner', async () => {
    for (const hotkey of [MESH_MINER, MESH_CHALLENGER, MESH_WINNER, MESH_NO_REPO]) await checkAgainstRaw(mesh, hotkey);
    const facts = await readCompetitionFacts(mesh, MESH_MINER);
    expect(facts.name).toBe('mesh');
    expect(roundOf(facts, 1).audit).toMatchObject({ outcome: 'passed', failedPrompts: 6, checkedPrompts: 128 });
    expect(roundOf(facts, 0).audit).toBeNull();
    expect(roundOf(facts, 0).winner?.hotkey).toBe(MESH_WINNER);
    expect(roundOf(facts, 1).winner?.hotkey).toBe('leader');
    // Round 0: lost 127 of 128 duels against the leader.
    expect(roundOf(facts, 0).matches[0]).toMatchObject({ opponent: 'leader', score: -127 });
    const winner = await readCompetitionFacts(mesh, MESH_WINNER);
    expect(roundOf(winner, 0).matches.length).toBe(6);
    expect(roundOf(winner, 0).matches.every((m) => m.opponent === 'leader' || m.opponent.length > 40)).toBe(true);
    expect((await readCompetitionFacts(mesh, MESH_NO_REPO)).rounds[0]!.audit).toMatchObject({ outcome: 'failed', reason: 'Repository not found' });
  });

  test("an audit dates from the commit that wrote the hotkey's verdict, not from its shared file's first version", async () => {
    const auditSeen = async (hotkey: string, round: number) => roundOf(await readCompetitionFacts(mesh, hotkey), round).audit?.seenMs;
    // Listed in require_audit.json at 8ec666b (pending); generation_audits.json with its verdict at 06e90bb.
    expect(await auditSeen(MESH_MINER, 1)).toBe(commitMs(mesh, '06e90bb'));
    // Round 0's generation_audits.json began at 4bf7e34 with the winner's entry; this one came in its sixth version.
    expect(await auditSeen(MESH_WINNER, 0)).toBe(commitMs(mesh, '4bf7e34'));
    expect(await auditSeen(MESH_CHALLENGER, 0)).toBe(commitMs(mesh, '7f0edc7'));
    expect(await auditSeen(MESH_NO_REPO, 0)).toBe(commitMs(mesh, 'c05d448'));
  });

  test('competition 0 (splats): duels leader/miner, generations.json, no audits nor winner.json', async () => {
    const { matches } = await checkAgainstRaw(splat, SPLAT_MINER);
    expect(matches).toBe(4);
    await checkAgainstRaw(splat, SPLAT_CHALLENGER);
    const facts = await readCompetitionFacts(splat, SPLAT_CHALLENGER);
    expect(facts.name).toBe('contest');
    expect(roundOf(facts, 0).matches[0]).toMatchObject({ outcome: 'challenger_wins' });
    expect(roundOf(facts, 0).matches[0]!.margin!).toBeGreaterThan(0.05);
    const miner = await readCompetitionFacts(splat, SPLAT_MINER);
    expect(miner.rounds.map((r) => r.matches[0]?.opponent)).toEqual([
      SPLAT_CHALLENGER,
      'leader',
      '5F4HaNQJAXDhirU51GTz4vBvcEuUo3YSfhKuBT7qix35DkHP',
      '5H3PdHjjMf9vntGfayWJNnmqRQeRKkhRPr6cS9DgisJWth7M',
    ]);
  });

  test("a round's prompts.txt re-created during the tests dates from its last addition, and the tests' stages are void", async () => {
    const facts = await readCompetitionFacts(splat, SPLAT_MINER);
    const launch = Date.UTC(2025, 11, 10);
    const round0 = roundOf(facts, 0);
    // prompts.txt was first added on 2025-11-29 (a test round), the real round 0 on launch day.
    expect(round0.promptsSeenMs).toBe(commitMs(splat, 'e082a11'));
    expect(round0.promptsSeenMs!).toBeGreaterThan(launch);
    // Launch day: generating, paused (operator re-try), generating, paused, generating, paused, duels.
    expect(round0.generationStages).toEqual([
      { fromMs: commitMs(splat, '371f598'), toMs: commitMs(splat, 'c7942d1') },
      { fromMs: commitMs(splat, 'faa4810'), toMs: commitMs(splat, '5bb383d') },
      { fromMs: commitMs(splat, '570417c'), toMs: commitMs(splat, 'd2c9df1') },
    ]);
    expect(facts.rounds.map((r) => r.round)).toEqual([0, 1, 2, 3]);
    // Round 3 was in duels at the last commit: its one stage is closed.
    expect(roundOf(facts, 3).generationStages).toEqual([{ fromMs: commitMs(splat, '2c86457'), toMs: commitMs(splat, '4c11135') }]);
  });
});

describe('roundOfGeneration', () => {
  /** Per round of competition 1, its miner_generation span, from state.json's versions read one by one. */
  function rawStageSpans(repo: string): Map<number, { fromMs: number; toMs: number }> {
    const lines = gitSync(repo, ['log', '--first-parent', '--reverse', '--format=%H %ct', 'main', '--', 'state.json']).split('\n');
    const spans = new Map<number, { fromMs: number; toMs: number }>();
    let open: { round: number; fromMs: number } | null = null;
    for (const line of lines) {
      const [sha, ct] = line.split(' ');
      const state = rawJson(repo, 'state.json', sha) as { current_round: number; stage: string };
      const t = Number(ct) * 1000;
      if (open && state.stage !== 'miner_generation') {
        spans.set(open.round, { fromMs: open.fromMs, toMs: t });
        open = null;
      }
      if (!open && state.stage === 'miner_generation') open = { round: state.current_round, fromMs: t };
    }
    return spans;
  }

  test('a carry-over prompt of competition 1: by the stage holding the time, else the latest round published', async () => {
    const facts = await readCompetitionFacts(mesh, MESH_MINER);
    const stems = (n: number) =>
      gitSync(mesh, ['show', `main:rounds/${n}/prompts.txt`])
        .split('\n')
        .filter(Boolean)
        .map((u) => path.basename(u).replace(/\.[^.]*$/, ''));
    const round1 = stems(1);
    const carried = stems(0).filter((s) => round1.includes(s));
    expect(carried.length).toBe(32);
    const onlyRound1 = round1.find((s) => !carried.includes(s))!;
    const stem = carried[0]!;

    const raw = rawStageSpans(mesh);
    const s0 = raw.get(0)!;
    const s1 = raw.get(1)!;
    expect(roundOf(facts, 0).generationStages).toEqual([s0]);
    expect(roundOf(facts, 1).generationStages).toEqual([s1]);
    const mid = (s: { fromMs: number; toMs: number }) => Math.floor((s.fromMs + s.toMs) / 2);

    expect(roundOfGeneration(facts, stem, mid(s0))).toEqual({ round: 0, by: 'generation_stage', candidates: [0, 1] });
    expect(roundOfGeneration(facts, stem, mid(s1))).toEqual({ round: 1, by: 'generation_stage', candidates: [0, 1] });
    expect(roundOfGeneration(facts, stem, s0.fromMs)).toMatchObject({ round: 0, by: 'generation_stage' });
    // The stage's end belongs to the next stage: the generation came after the stage had closed.
    expect(roundOfGeneration(facts, stem, s0.toMs)).toEqual({ round: 0, by: 'published_before', candidates: [0, 1] });
    const between = s0.toMs + 24 * 3600_000;
    expect(between).toBeLessThan(roundOf(facts, 1).promptsSeenMs!);
    expect(roundOfGeneration(facts, stem, between)).toEqual({ round: 0, by: 'published_before', candidates: [0, 1] });
    expect(roundOfGeneration(facts, stem, s1.toMs + 3600_000)).toEqual({ round: 1, by: 'published_before', candidates: [0, 1] });
    expect(roundOfGeneration(facts, stem, roundOf(facts, 0).promptsSeenMs! - 1)).toBeNull();
    // A round 1 prompt generated during round 0's stage: round 1 had not published it yet.
    expect(roundOfGeneration(facts, onlyRound1, mid(s0))).toBeNull();
    expect(roundOfGeneration(facts, onlyRound1, mid(s1))).toEqual({ round: 1, by: 'generation_stage', candidates: [1] });
    expect(roundOfGeneration(facts, 'f'.repeat(64), mid(s1))).toBeNull();
  });

  test('competition 0: a prompt carried over twice, and a pause inside round 0', async () => {
    const facts = await readCompetitionFacts(splat, SPLAT_MINER);
    const urls = [0, 1, 2, 3].map((n) => gitSync(splat, ['show', `main:rounds/${n}/prompts.txt`]).split('\n'));
    // A prompt of rounds 0, 1 and 2 but not 3 (carried over twice, then dropped).
    const url = urls[0]!.find((u) => urls[1]!.includes(u) && urls[2]!.includes(u) && !urls[3]!.includes(u))!;
    expect(url).toBeDefined();
    const stem = path.basename(url).replace(/\.[^.]*$/, '');
    const stages = roundOf(facts, 0).generationStages;
    const pause = stages[0]!.toMs! + 1000;
    expect(pause).toBeLessThan(stages[1]!.fromMs);
    expect(roundOfGeneration(facts, stem, pause)).toEqual({ round: 0, by: 'published_before', candidates: [0, 1, 2] });
    expect(roundOfGeneration(facts, stem, stages[1]!.fromMs + 1000)).toMatchObject({ round: 0, by: 'generation_stage' });
    const r2 = roundOf(facts, 2).generationStages[0]!;
    expect(roundOfGeneration(facts, stem, r2.fromMs + 1000)).toEqual({ round: 2, by: 'generation_stage', candidates: [0, 1, 2] });
    // During round 3's stage it is in no open stage: round 2 is the latest that published it.
    const r3 = roundOf(facts, 3).generationStages[0]!;
    expect(roundOfGeneration(facts, stem, r3.fromMs + 1000)).toEqual({ round: 2, by: 'published_before', candidates: [0, 1, 2] });
  });
});

describe('replay of the validators pushing, refreshed commit by commit', () => {
  test("a duel file appears in the facts exactly at the commit that added it; a rewritten upstream is refused", async () => {
    const file = `rounds/1/${MESH_MINER}/duels_leader.json`;
    const added = gitSync(mesh, ['log', '--first-parent', '--diff-filter=A', '--format=%H', 'main', '--', file]);
    const replay = createReplay(ACTIVE_COMPETITION_BUNDLE, fs.mkdtempSync(path.join(tmp, 'replay-')), `${added}~3`);
    const at = replay.indexOf(added);
    const { local, commits } = replay;

    expect(await refreshStateRepo(local)).toEqual({ before: commits[at - 3], after: commits[at - 3], changed: false });
    for (let i = at - 2; i <= at + 2; i++) {
      replay.advance(i);
      expect(await refreshStateRepo(local)).toEqual({ before: commits[i - 1], after: commits[i], changed: true });
      const facts = await readCompetitionFacts(local, MESH_MINER);
      expect(facts.commit).toBe(commits[i]);
      expect(facts.commitMs).toBe(commitMs(local, commits[i]!));
      const match = roundOf(facts, 1).matches.find((m) => m.file === file);
      if (i < at) {
        expect(match).toBeUndefined();
      } else {
        expect(match?.seenMs).toBe(commitMs(local, added));
        expect(match?.duels.length).toBe(128);
      }
    }

    // Upstream force-pushed a history without the local HEAD: refused, nothing moves.
    const head = gitSync(local, ['rev-parse', 'HEAD']);
    replay.forceUpstream(replay.divergingCommit(replay.position() - 1));
    const diverged = await refreshStateRepo(local).catch((e: unknown) => e);
    expect(diverged).toBeInstanceOf(StateRepoError);
    expect((diverged as StateRepoError).kind).toBe('diverged');
    expect((diverged as Error).message).toMatch(/cannot fast-forward .*never rewrites/);
    expect(gitSync(local, ['rev-parse', 'HEAD'])).toBe(head);

    // No upstream to fetch from (no network, a moved remote): git's own words, then what to do.
    gitSync(local, ['remote', 'set-url', 'origin', path.join(tmp, 'no-such-upstream.git')]);
    const offline = await refreshStateRepo(local).catch((e: unknown) => e);
    expect((offline as StateRepoError).kind).toBe('fetch');
    expect((offline as Error).message).toMatch(/git fetch failed .*no-such-upstream.*Check the network/s);
    expect(gitSync(local, ['rev-parse', 'HEAD'])).toBe(head);

    expect(await isGitClone(local)).toBe(true);
    expect(await isGitClone(replay.upstream)).toBe(false);
    expect(await isGitClone(path.join(local, 'rounds'))).toBe(false);
    expect(await isGitClone(fs.mkdtempSync(path.join(tmp, 'plain-')))).toBe(false);
    expect(await isGitClone(path.join(tmp, 'missing'))).toBe(false);
  });
});

describe('files of an unknown shape', () => {
  test('are named as not understood; everything else is still read', async () => {
    const repo = cloneBundle(ACTIVE_COMPETITION_BUNDLE, path.join(tmp, 'edited'));
    const duels = `rounds/1/${MESH_MINER}/duels_leader.json`;
    commitEdit(repo, duels, (text) => {
      const { duels: list, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return JSON.stringify({ ...rest, comparisons: list });
    });
    commitEdit(repo, 'rounds/1/winner.json', (text) => text.slice(0, 20));

    const facts = await readCompetitionFacts(repo, MESH_MINER);
    expect(facts.notUnderstood).toEqual([
      { file: duels, reason: expect.stringMatching(/^duels: /) },
      { file: 'rounds/1/winner.json', reason: expect.stringMatching(/^invalid JSON/) },
    ]);
    expect(roundOf(facts, 1).matches).toEqual([]);
    expect(roundOf(facts, 1).winner).toBeNull();
    expect(Object.keys(roundOf(facts, 1).submitted!).length).toBe(128);
    expect(roundOf(facts, 1).audit?.outcome).toBe('passed');
    expect(roundOf(facts, 0).matches.map((m) => m.score)).toEqual([-127]);
    expect(roundOf(facts, 0).winner?.hotkey).toBe(MESH_WINNER);
  });
});

describe('the pure readers', () => {
  const hotkey = 'H'.repeat(48);
  const other = 'O'.repeat(48);
  const duel = (winner: string) => ({ name: 's', prompt: 'p', left_glb: 'L', right_glb: 'R', winner, issues: 'x' });

  test('a competition 1 match with the miner on the left is turned around', () => {
    const text = JSON.stringify({ left: hotkey, right: other, score: -1, margin: -1 / 3, duels: [duel('left'), duel('right'), duel('right')] });
    const r = parseMatch('rounds/4/x/duels_O.json', text, hotkey);
    expect(r.ok && r.value).toMatchObject({ opponent: other, score: 1, margin: 1 / 3, outcome: null });
    expect(r.ok && r.value.duels.map((d) => [d.winner, d.minerOutputUrl, d.opponentOutputUrl])).toEqual([
      ['miner', 'L', 'R'],
      ['opponent', 'L', 'R'],
      ['opponent', 'L', 'R'],
    ]);
    expect(parseMatch('f', text, 'nobody')).toMatchObject({ ok: false, reason: expect.stringMatching(/neither left nor right/) });
    const tie = JSON.stringify({ left: 'leader', right: hotkey, score: 0, margin: 0, duels: [duel('tie')] });
    expect(parseMatch('rounds/4/x/duels_leader.json', tie, hotkey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^duels\.0\.winner/) });
  });

  test('submitted entries need an output key; prompts skip blank lines', () => {
    expect(parseSubmitted(JSON.stringify({ a: { js: 'u.js', png: null, generation_time: 1, size: 2 } }))).toEqual({
      ok: true,
      value: { a: { outputUrl: 'u.js', previewUrl: null, generationTime: 1, size: 2, attempts: null, distance: null } },
    });
    expect(parseSubmitted(JSON.stringify({ a: { png: 'x' } }))).toMatchObject({ ok: false });
    expect(parsePrompts('https://x/a/1234.png\r\n\n  \nhttps://x/b-c.d.jpeg?v=2\n')).toEqual([
      { stem: '1234', url: 'https://x/a/1234.png' },
      { stem: 'b-c.d', url: 'https://x/b-c.d.jpeg?v=2' },
    ]);
  });

  test('audits: a failed source audit decides, a required one with no verdict is pending', () => {
    const passed = { outcome: 'passed', reason: null, failedPrompts: 0, checkedPrompts: 128 };
    const failed = { outcome: 'failed', reason: 'Repository not found', failedPrompts: null, checkedPrompts: null };
    expect(combineAudit(passed, failed, true)).toBe(failed);
    expect(combineAudit(passed, { ...failed, outcome: 'passed' }, true)).toBe(passed);
    expect(combineAudit(null, null, true)).toEqual({ outcome: null, reason: null, failedPrompts: null, checkedPrompts: null });
    expect(combineAudit(null, null, false)).toBeNull();
  });

  test('stage spans: paused splits them, going back to an earlier round voids the later ones', () => {
    let order = 0;
    const v = (timeMs: number, round: number, stage: string): FileVersion => ({ order: order++, timeMs, text: JSON.stringify({ current_round: round, stage }) });
    const spans = generationStageSpans([
      v(10, 0, 'generating'),
      v(20, 0, 'paused'),
      v(30, 0, 'generating'),
      v(40, 0, 'duels'),
      v(50, 1, 'generating'),
      v(60, 0, 'duels'),
      v(70, 0, 'finished'),
      v(80, 1, 'miner_generation'),
      { order: order++, timeMs: 85, text: '{"round": 1}' },
      v(90, 1, 'miner_generation'),
    ]);
    expect(Object.fromEntries(spans)).toEqual({
      0: [
        { fromMs: 10, toMs: 20 },
        { fromMs: 30, toMs: 40 },
      ],
      1: [{ fromMs: 80, toMs: null }],
    });
  });
});
