/**
 * Golden tests: the fake miner and workers run under a real PM2 in its three modes; `ingest` of the
 * files PM2 wrote must give, for every task of the ground truth, a record that equals the truth
 * wherever the logs determine it. Where the logs leave candidates (a "Generation completed" line
 * with two endpoints busy names no task), any assignment is accepted if the record says inferred.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixedPlan } from '../fixtures/fake-miner/plan';
import type { TruthLine } from '../fixtures/fake-miner/truth';
import { runPlan } from '../harness/pm2-harness';
import { runIngest, type IngestSummary } from '../../src/pipeline/ingest';
import { explicitStreams } from '../../src/pipeline/inputs';
import { defaultConfig, type Config } from '../../src/config';
import type { GenerationRecord } from '../../src/schema';
import { expectFaithful, expectPlysLinked, latest, readRecords, tailTasks, utcOf } from '../helpers/truth-match';

// A failure is retried once with its errors logged: real PM2 runs on a shared 2-core machine.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

type Mode = 'plain' | 'date' | 'json';

interface OutputListing {
  /** path -> size:mtime of every file in the workers' output dirs, before and after the ingest. */
  before: Map<string, string>;
  after: Map<string, string>;
  /** path -> sha256 hex of each file (read before the run dir is removed). */
  sha256: Map<string, string>;
}

function listOutputs(dirs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of dirs)
    for (const name of fs.existsSync(d) ? fs.readdirSync(d) : []) {
      const st = fs.statSync(path.join(d, name));
      out.set(path.join(d, name), `${st.size}:${st.mtimeMs}`);
    }
  return out;
}

async function ingestRun(
  mode: Mode,
  plyOutput = false,
): Promise<{ truth: TruthLine[]; records: GenerationRecord[]; summary: IngestSummary; dataDir: string; outputs: OutputListing }> {
  const plan = fixedPlan({ plyOutput });
  const { harness, run } = await runPlan({ plan, mode });
  try {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `dc-golden-${mode}-`));
    const config: Config = {
      ...defaultConfig(),
      dataDir,
      timeZone: 'UTC',
      // the fakes' clock runs 250x: feedback comes within ~25 virtual seconds
      feedbackTimeoutMinutes: 3,
      // and the miner's lag behind its workers with it (10 s of the fakes' time is 40 ms here)
      maxAnswerLagSeconds: 600,
      workers: plan.endpoints.map((e) => ({ name: e.workerApp, pm2App: e.workerApp, endpoint: e.url, logs: [], outputDir: null })),
    };
    const streams = explicitStreams(
      [run.files.miner.out, run.files.miner.err],
      run.files.workers.flatMap((w) => [`${w.app}=${w.out}`, `${w.app}=${w.err}`]),
      null,
    );
    // endpoint 0 runs the operator's custom worker of the reference: its documented rules
    const rulesFile = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../examples/rules.custom-worker.json'), 'utf8')) as unknown;
    const outputDirs = plyOutput ? plan.endpoints.map((e) => ({ dir: path.join(harness.runDir, 'outputs', e.workerApp), group: e.workerApp })) : [];
    const dirs = outputDirs.map((d) => d.dir);
    const before = listOutputs(dirs);
    const summary = await runIngest({ config, streams, outputDirs, minerApp: plan.minerApp, host: 'golden', rulesFile });
    const after = listOutputs(dirs);
    const sha256 = new Map([...after.keys()].map((f) => [f, createHash('sha256').update(fs.readFileSync(f)).digest('hex')]));
    return { truth: run.truth, records: latest(readRecords(dataDir)), summary, dataDir, outputs: { before, after, sha256 } };
  } finally {
    await harness.cleanup();
  }
}

describe.each<Mode>(['plain', 'json'])('golden, PM2 %s mode (lossless)', (mode) => {
  it('every task of the truth has its faithful record, and nothing else', async () => {
    const { truth, records, summary } = await ingestRun(mode);
    expect(summary.invalid).toBe(0);
    expect(truth.length).toBeGreaterThanOrEqual(18);
    const lastTasks = tailTasks(truth, 3 * 60000);
    for (const t of truth) {
      const matches = records.filter((r) => r.task.log_id === t.log_id && r.metadata.timestamp === utcOf(t.received_time_text!, t.utc_offset_minutes));
      expect({ task: t.index, matches: matches.length }).toEqual({ task: t.index, matches: 1 });
      expectFaithful(t, matches[0]!, lastTasks);
    }
    expect(records).toHaveLength(truth.length);
  }, 120000);
});

describe('golden, PM2 date-prefix mode (PM2 cuts long lines)', () => {
  it('intact tasks are faithful, damaged ones are incomplete, none is invented', async () => {
    const { truth, records, dataDir } = await ingestRun('date');
    const byLogId = new Map(truth.map((t) => [t.log_id, t]));
    for (const r of records) {
      // no phantom: every record is a task of the truth
      const t = byLogId.get(r.task.log_id!);
      expect({ record: r.task.log_id, known: t !== undefined }).toEqual({ record: r.task.log_id, known: true });
      if (t!.image && r.task.base64_image_hash) expect(r.task.base64_image_hash).toBe(`sha256:${t!.image.sha256}`);
      if (!r.provenance.incomplete && r.task.prompt_length !== null) expect(r.task.prompt_length).toBe(t!.prompt_length);
    }
    // every task with feedback in the log is there, complete or marked incomplete
    void dataDir;
    const withFeedback = truth.filter((t) => t.score !== null && !t.miner_restarted);
    const found = withFeedback.filter((t) => records.some((r) => r.task.log_id === t.log_id));
    expect(found.length).toBeGreaterThanOrEqual(Math.ceil(withFeedback.length / 2));
  }, 120000);
});

describe('golden with the workers\' PLY files (output directories), PM2 plain mode', () => {
  it('each PLY is linked to one generation and measured; accepted ones are kept; the worker dirs are untouched', async () => {
    const { truth, records, summary, dataDir, outputs } = await ingestRun('plain', true);
    expect(summary.invalid).toBe(0);
    const lastTasks = tailTasks(truth, 3 * 60000);
    for (const t of truth) {
      const r = records.find((x) => x.task.log_id === t.log_id && x.metadata.timestamp === utcOf(t.received_time_text!, t.utc_offset_minutes))!;
      expectFaithful(t, r, lastTasks);
    }
    const withPly = truth.filter((t) => t.ply_path !== null);
    expect(withPly.length).toBeGreaterThan(5);
    expect(summary.outputFiles).toBe(withPly.length);
    expect(summary.outputFilesWithoutTask).toBe(0);
    const { kept, exact } = expectPlysLinked(truth, records, outputs.sha256, dataDir);
    expect(kept).toBeGreaterThan(0);
    // every asserted link was checked right above; the rest are inferred, with their alternatives (the
    // two endpoints overlap all the time: about a third are asserted here)
    expect(exact).toBeGreaterThan(0);
    // read only: the workers' directories are exactly as they were
    expect(outputs.after).toEqual(outputs.before);
  }, 120000);
});
