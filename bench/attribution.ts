/**
 * Attribution accuracy. With several generation endpoints the miner's "Generation completed. Size: N",
 * "Generation failed with code: S" and "Failed to submit results to [hotkey]" lines name no task, so
 * the tracker attributes them. This bench runs the fake miner and upstream serve.py workers in real
 * time under a real PM2 (plain mode, its own PM2_HOME) at 2, 3 and 4 endpoints, ingests each run's
 * files with and without the workers' logs, and scores every task's record against the run's ground
 * truth (test/helpers/attribution-score.ts): per field, the share right, wrong but marked inferred,
 * and wrong without a mark. The baseline is the same run's truth: this measures accuracy, not speed.
 * A fourth run (2 endpoints, the workers writing real PLYs) scores the linked output files too.
 * Run: node dist/bench/attribution.js [--tasks N] [--seed S] [--endpoints 2,3,4] [--gen-ms LO,HI] [--feedback-ms LO,HI]
 *   [--feedback-timeout-s S] [--no-ply] [--misses] [--keep DIR]
 * (prints a table per configuration, a summary, and every wrong field not marked inferred; --misses: every wrong field).
 * The runs are real time, so their interleaving, and the figures, differ from run to run: `--keep DIR` keeps each
 * run's log files, output files and truth, and `--replay DIR` scores a build on kept runs (no PM2, seconds), so
 * two builds are compared on the same files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildPlan, type Plan } from '../test/fixtures/fake-miner/plan';
import { Pm2Harness, type RunFiles } from '../test/harness/pm2-harness';
import type { TruthLine } from '../test/fixtures/fake-miner/truth';
import { readRecords } from '../test/helpers/truth-match';
import { ATTRIBUTION_FIELDS, FIELD_LABELS, percent, scoreAttribution, type AttributionScore } from '../test/helpers/attribution-score';
import { runIngest } from '../src/pipeline/ingest';
import { explicitStreams } from '../src/pipeline/inputs';
import { defaultConfig, type Config } from '../src/config';
import { printRows, type BenchRow } from './report';

export interface AttributionOptions {
  /** Tasks per run. */
  tasks: number;
  /** One run per endpoint count, all endpoints running upstream's serve.py. */
  endpoints: number[];
  /** Also a 2-endpoint run whose workers write real PLYs, ingested with their output directories. */
  ply: boolean;
  seed: number;
  /** The collector's feedback timeout; each run waits this long after its last task, so no task is cut off. */
  feedbackTimeoutS: number;
  /** Real milliseconds of a generation and of the wait for feedback (the plan clock runs at scale 1). */
  genMs: [number, number];
  feedbackMs: [number, number];
  /** Keep each run's files and truth under this directory (for `replayAttribution`). */
  keep?: string;
}

/** One run's files and truth, as scored (and as `--keep` stores them, in run.json). */
export interface CapturedRun {
  endpoints: number;
  ply: boolean;
  runSeconds: number;
  plan: Plan;
  files: RunFiles;
  truth: TruthLine[];
  outputDirs: { dir: string; group: string }[];
}

export const DEFAULT_ATTRIBUTION: AttributionOptions = {
  tasks: 120,
  endpoints: [2, 3, 4],
  ply: true,
  seed: 1700,
  feedbackTimeoutS: 30,
  genMs: [300, 3000],
  feedbackMs: [200, 2000],
};

export interface AttributionResult {
  endpoints: number;
  ply: boolean;
  workerLogs: boolean;
  /** Seconds from the start of the fakes to the plan's end. */
  runSeconds: number;
  score: AttributionScore;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Harnesses alive now: an interrupted bench still kills its PM2 daemons. */
const active = new Set<Pm2Harness>();
let signalsHooked = false;
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void Promise.allSettled([...active].map((h) => h.cleanup())).then(() => process.exit(130));
    });
}

/** Time of the last header in a miner log, read as UTC like the truth's times (tailTasks). */
function lastLineMs(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 1 << 16);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('latin1').replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
    const times = [...text.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \|/gm)];
    if (!times.length) throw new Error(`no header time in the tail of ${file}`);
    return Date.parse(`${times[times.length - 1]![1]!.replace(' ', 'T')}Z`);
  } finally {
    fs.closeSync(fd);
  }
}

async function ingestAndScore(run: CapturedRun, workerLogs: boolean, o: AttributionOptions): Promise<AttributionScore> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-bench-attr-'));
  try {
    const config: Config = {
      ...defaultConfig(),
      dataDir,
      timeZone: 'UTC',
      store_images: false,
      feedbackTimeoutMinutes: o.feedbackTimeoutS / 60,
      workers: run.plan.endpoints.map((e) => ({ name: e.workerApp, pm2App: e.workerApp, endpoint: e.url, logs: [], outputDir: null })),
    };
    const logEndMs = lastLineMs(run.files.miner.out);
    const streams = explicitStreams(
      [run.files.miner.out, run.files.miner.err],
      workerLogs ? run.files.workers.flatMap((w) => [`${w.app}=${w.out}`, `${w.app}=${w.err}`]) : [],
      null,
    );
    const summary = await runIngest({ config, streams, outputDirs: run.outputDirs, minerApp: run.plan.minerApp, host: 'bench' });
    if (summary.invalid) throw new Error(`${summary.invalid} invalid records`);
    return scoreAttribution(run.truth, readRecords(dataDir), {
      feedbackTimeoutMs: o.feedbackTimeoutS * 1000,
      logEndMs,
      workerLogs,
      outputFiles: run.outputDirs.length > 0,
    });
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Scores a run with and without the workers' logs. */
async function scoreRun(run: CapturedRun, o: AttributionOptions): Promise<AttributionResult[]> {
  const results: AttributionResult[] = [];
  for (const workerLogs of [true, false]) results.push({ endpoints: run.endpoints, ply: run.ply, workerLogs, runSeconds: run.runSeconds, score: await ingestAndScore(run, workerLogs, o) });
  return results;
}

/** Copies a run's files into `dir` (output files with their mtimes) and writes run.json; the copy's paths replace the run's. */
function keepRun(run: CapturedRun, root: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const moved = (p: string) => path.join(dir, path.relative(root, p));
  const copy = (p: string) => {
    fs.mkdirSync(path.dirname(moved(p)), { recursive: true });
    fs.cpSync(p, moved(p), { recursive: true, preserveTimestamps: true });
    return moved(p);
  };
  const kept: CapturedRun = {
    ...run,
    files: {
      miner: { ...run.files.miner, out: copy(run.files.miner.out), err: copy(run.files.miner.err) },
      workers: run.files.workers.map((w) => ({ ...w, out: copy(w.out), err: copy(w.err) })),
    },
    outputDirs: run.outputDirs.map((d) => ({ ...d, dir: copy(d.dir) })),
    truth: run.truth.map((t) => ({ ...t, ply_path: t.ply_path === null ? null : moved(t.ply_path) })),
  };
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(kept));
}

/** Scores every run kept under `dir` (by `--keep`): the same files for any build. */
export async function replayAttribution(dir: string, opts: Partial<AttributionOptions> = {}): Promise<AttributionResult[]> {
  const o = { ...DEFAULT_ATTRIBUTION, ...opts };
  const runs = fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'run.json')))
    .sort()
    .map((d) => JSON.parse(fs.readFileSync(path.join(dir, d, 'run.json'), 'utf8')) as CapturedRun);
  if (!runs.length) throw new Error(`no kept runs (*/run.json) under ${dir}`);
  const results: AttributionResult[] = [];
  for (const run of runs) results.push(...(await scoreRun(run, o)));
  return results;
}

/** One real-time run of the fakes, ingested and scored with and without the workers' logs. */
async function attributionRun(endpoints: number, ply: boolean, o: AttributionOptions): Promise<AttributionResult[]> {
  const plan = buildPlan({
    seed: o.seed + endpoints + (ply ? 50 : 0),
    tasks: o.tasks,
    endpoints,
    upstreamOnly: true,
    plyOutput: ply,
    clock: { scale: 1 },
    genMs: o.genMs,
    feedbackMs: o.feedbackMs,
  });
  // the longest endpoint's planned time, with room for a loaded machine
  const planned = Math.max(
    ...plan.endpoints.map((_, i) => plan.tasks.filter((t) => t.endpoint === i).reduce((s, t) => s + t.genMs + t.submit.delayMs + 50, 0)),
  );
  const harness = await Pm2Harness.create({ plan, mode: 'plain' });
  active.add(harness);
  try {
    await harness.start();
    const done = await harness.waitDone(2 * planned + 120_000);
    // the miner's stats lines carry the clock on: past every task's feedback timeout, none is at the tail
    await sleep(o.feedbackTimeoutS * 1000 + 2000);
    const run: CapturedRun = {
      endpoints,
      ply,
      runSeconds: done.elapsedMs / 1000,
      plan: harness.plan,
      files: done.files,
      truth: done.truth,
      outputDirs: ply ? plan.endpoints.map((e) => ({ dir: path.join(harness.runDir, 'outputs', e.workerApp), group: e.workerApp })) : [],
    };
    if (o.keep) keepRun(run, harness.root, path.join(o.keep, `${endpoints}${ply ? '-ply' : ''}-seed${plan.seed}`));
    return await scoreRun(run, o);
  } finally {
    await harness.cleanup();
    active.delete(harness);
  }
}

/** Every configuration, the runs concurrently (each its own PM2); every harness is cleaned up, even on error. */
export async function runAttribution(opts: Partial<AttributionOptions> = {}): Promise<AttributionResult[]> {
  const o = { ...DEFAULT_ATTRIBUTION, ...opts };
  hookSignals();
  const configs: [number, boolean][] = [...o.endpoints.map((n): [number, boolean] => [n, false]), ...(o.ply ? [[2, true] as [number, boolean]] : [])];
  const settled = await Promise.allSettled(configs.map(([n, ply]) => attributionRun(n, ply, o)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
}

export function configName(r: Pick<AttributionResult, 'endpoints' | 'ply' | 'workerLogs'>): string {
  return `${r.endpoints} endpoints${r.ply ? ' + PLY files' : ''}, ${r.workerLogs ? 'with' : 'without'} worker logs`;
}

/** One table per configuration: per field, the share right (baseline: the truth, 100 %), wrong+inferred, wrong+asserted. */
export function attributionTables(results: AttributionResult[]): { title: string; rows: BenchRow[] }[] {
  return results.map((r) => {
    const s = r.score;
    const rows: BenchRow[] = [];
    for (const f of ATTRIBUTION_FIELDS) {
      const c = s.fields[f];
      if (c.compared === 0) continue;
      const right = percent(c.right, c.compared);
      rows.push(
        { name: `${FIELD_LABELS[f]}: right (${c.compared} tasks)`, value: right, unit: '%', baseline: 100, ratio: right / 100 },
        { name: `${FIELD_LABELS[f]}: wrong, marked inferred`, value: percent(c.wrongInferred, c.compared), unit: '%' },
        { name: `${FIELD_LABELS[f]}: wrong, not marked inferred`, value: percent(c.wrongAsserted, c.compared), unit: '%' },
      );
    }
    rows.push(
      { name: 'records with an inferred link (any event)', value: percent(s.anyInferred, s.compared), unit: '%' },
      { name: 'records marking an end or submit link inferred', value: percent(s.markedInferred, s.compared), unit: '%' },
      { name: 'truth tasks without a record', value: s.missing.length, unit: 'tasks' },
    );
    const title =
      `Attribution accuracy: ${configName(r)} (${s.compared} of ${s.tasks} tasks compared; ` +
      `${s.skipped.interrupted} interrupted by a miner crash, ${s.skipped.tail} at the tail skipped)`;
    return { title, rows };
  });
}

/** A compact markdown table of every configuration: right / wrong+inferred / wrong+not inferred, in %. */
export function attributionSummary(results: AttributionResult[]): string {
  const f1 = (x: number) => x.toFixed(1);
  const head = `| configuration | ${ATTRIBUTION_FIELDS.map((f) => f.replace('_', ' ')).join(' | ')} | records with an inferred link |\n|---|${ATTRIBUTION_FIELDS.map(() => '---|').join('')}---|\n`;
  return (
    head +
    results
      .map((r) => {
        const cells = ATTRIBUTION_FIELDS.map((f) => {
          const c = r.score.fields[f];
          return c.compared === 0 ? '–' : `${f1(percent(c.right, c.compared))} / ${f1(percent(c.wrongInferred, c.compared))} / ${f1(percent(c.wrongAsserted, c.compared))}`;
        });
        return `| ${configName(r)} | ${cells.join(' | ')} | ${f1(percent(r.score.anyInferred, r.score.compared))} |`;
      })
      .join('\n') +
    '\n'
  );
}

function runsTable(results: AttributionResult[], wallS: number): { title: string; rows: BenchRow[] } {
  return {
    title: 'Attribution runs (real time, plain PM2)',
    rows: [
      ...results
        .filter((r) => r.workerLogs)
        .map((r) => ({ name: `${r.endpoints} endpoints${r.ply ? ' + PLY files' : ''}: fakes start to plan done (${r.score.tasks} tasks)`, value: r.runSeconds, unit: 's' })),
      { name: 'bench wall time (runs concurrently; feedback-timeout wait and 2 ingests each)', value: wallS, unit: 's' },
    ],
  };
}

export async function benchAttribution(opts: Partial<AttributionOptions> = {}): Promise<{ title: string; rows: BenchRow[] }[]> {
  const t0 = Date.now();
  const results = await runAttribution(opts);
  return [...attributionTables(results), runsTable(results, (Date.now() - t0) / 1000)];
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const opts: Partial<AttributionOptions> = {};
  if (arg('--tasks')) opts.tasks = Number(arg('--tasks'));
  if (arg('--seed')) opts.seed = Number(arg('--seed'));
  if (arg('--endpoints')) opts.endpoints = arg('--endpoints')!.split(',').map(Number);
  const range = (text: string) => text.split(',').map(Number) as [number, number];
  if (arg('--gen-ms')) opts.genMs = range(arg('--gen-ms')!);
  if (arg('--feedback-ms')) opts.feedbackMs = range(arg('--feedback-ms')!);
  if (arg('--feedback-timeout-s')) opts.feedbackTimeoutS = Number(arg('--feedback-timeout-s'));
  if (process.argv.includes('--no-ply')) opts.ply = false;
  if (arg('--keep')) opts.keep = path.resolve(arg('--keep')!);
  const t0 = Date.now();
  const replay = arg('--replay');
  (replay ? replayAttribution(replay, opts) : runAttribution(opts))
    .then((results) => {
      for (const t of [...attributionTables(results), runsTable(results, (Date.now() - t0) / 1000)]) printRows(t.title, t.rows);
      process.stdout.write(`\n## Summary: right / wrong, marked inferred / wrong, not marked (% of compared tasks)\n${attributionSummary(results)}`);
      // the bad case, always shown: wrong and not marked inferred (--misses: every wrong field)
      for (const r of results) {
        const shown = process.argv.includes('--misses') ? r.score.misses : r.score.misses.filter((m) => m.verdict === 'asserted');
        if (shown.length) process.stdout.write(`\n${configName(r)}, wrong fields:\n${shown.map((m) => JSON.stringify(m)).join('\n')}\n`);
      }
    })
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    });
}
